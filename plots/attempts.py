#!/usr/bin/python3
"""The distribution of failed attempts per update (the reference's numtriesdist) per method, and
the polls per update of the lock-based methods, one column per thread count.

Reads results/<sweep>/ of experiments/attempts.json. A failed attempt is a failed atomic
read-modify-write (a spin lock's exchange, an OS lock's try_lock, a Leashed publish CAS, a
hogwild-atomic coordinate CAS), counted the same way for every method; a poll is a lock test
that saw the lock held (no RMW). Top row: the fraction of applied updates that needed k failed
attempts, from the run documents' full histograms (contention.failed_attempts_per_update, the
repetitions added up). Bottom row: failed RMWs, polls and failed tests (Leashed
--test-before-cas) per applied update, medians over repetitions with IQR bars, on a symlog axis
(polls of a spin lock are orders of magnitude above its failed RMWs). Writes <out>/attempts.png
and .pdf.
"""

import common

PER_UPDATE = (
    ("failed_attempts", "failed RMWs", "o"),
    ("polls", "polls", "s"),
    ("failed_tests", "failed tests", "^"),
)


def pooled(sweep, rows):
    """(fractions P(k), overflow fraction) of failed attempts per update over rows' runs."""
    hist = sweep.histograms()
    ids = {r["run_id"] for r in rows}
    counts, overflow = common.pooled_counts(
        hist[(hist["histogram"] == "failed_attempts") & hist["run_id"].isin(ids)]
    )
    total = int(counts.sum()) + overflow
    if not total:
        return None, 0.0
    return [n / total for n in counts], overflow / total


def per_update(doc, key):
    """contention[key] per applied update, or None when the run does not count it."""
    value = (doc.get("contention") or {}).get(key)
    applied = (doc.get("updates") or {}).get("applied") or 0
    return value / applied if value is not None and applied else None


def distribution_panel(ax, sweep, rows, methods):
    largest = 1
    for m in methods:
        fractions, overflow = pooled(sweep, [r for r in rows if common.method(r) == m])
        if fractions is None:
            continue
        ks = [k for k, p in enumerate(fractions) if p > 0]
        largest = max([largest] + ks)
        label = m + (f" ({overflow:.1%} beyond the last bin)" if overflow else "")
        # Markers only: k is a count, and the tail is sparse (nothing lies between its points).
        ax.plot(
            ks, [fractions[k] for k in ks], marker="o", markersize=4, linestyle="none",
            alpha=0.8, color=common.method_color(m), label=label,
        )
    ax.set_yscale("log")
    ax.set_xscale("symlog", linthresh=1)  # 0, 1, 2 apart, and tails of hundreds on one axis
    ax.set_xlim(-0.3, largest * 1.3)
    ax.set_ylim(top=1.5)
    ax.set_xlabel("failed attempts (RMWs) of one update")
    ax.set_ylabel("fraction of applied updates")
    ax.grid(alpha=0.3)
    ax.legend()


def per_update_panel(ax, sweep, rows, methods):
    width = 0.8 / len(PER_UPDATE)
    for k, (key, label, marker) in enumerate(PER_UPDATE):
        xs, med, lo, hi = [], [], [], []
        for x, m in enumerate(methods):
            values = [per_update(sweep.doc(r), key) for r in rows if common.method(r) == m]
            s = common.median_iqr(values)
            if s[0] is None:
                continue
            xs.append(x + (k - (len(PER_UPDATE) - 1) / 2) * width)
            med.append(s[0])
            lo.append(s[0] - s[1])
            hi.append(s[2] - s[0])
        if xs:
            ax.errorbar(
                xs, med, yerr=[lo, hi], marker=marker, linestyle="none", capsize=3,
                color="black", markerfacecolor="white", label=label,
            )
    ax.set_xticks(range(len(methods)), methods, rotation=25, ha="right")
    for tick, m in zip(ax.get_xticklabels(), methods):
        tick.set_color(common.method_color(m))
    ax.set_yscale("symlog", linthresh=0.01)
    common.leave_headroom(ax, 4)  # polls reach 1e5
    ax.set_ylabel("per applied update")
    ax.grid(alpha=0.3)
    ax.legend()


def draw(sweep, out, name, title):
    """The figure of any sweep with algo and threads axes (run documents with contention)."""
    finished = [r for r in sweep.rows if r["status"] not in common.UNFINISHED]
    methods = common.methods_of(sweep.rows)
    threads = sweep.values("threads")
    fig, axes = common.figure(2, len(threads), width=4.6, height=3.2)
    for j, t in enumerate(threads):
        rows = [r for r in finished if r["threads"] == t]
        heading = common.threads_label(t, rows)
        distribution_panel(axes[0][j], sweep, rows, methods)
        axes[0][j].set_title(f"{heading}: failed attempts per update")
        per_update_panel(axes[1][j], sweep, rows, methods)
        axes[1][j].set_title(f"{heading}: failed RMWs, polls, tests")
        for ax in axes[:, j]:
            common.note_unfinished(ax, [r for r in sweep.rows if r["threads"] == t])
    lock = ", ".join(v for v in sweep.values("lock") if v) if "lock" in sweep.columns else ""
    backoff = sweep.base().get("backoff", "none (the default)")
    caption = sweep.caption(
        f"backoff {backoff}; locks {lock or 'spin'}; repetitions pooled (top), medians with "
        "IQR (bottom); " + common.outcome_text(sweep.rows)
    )
    common.save(fig, out, name, caption, title)


def main():
    args = common.parse_args(__doc__.splitlines()[0], "attempts")
    sweep = common.Sweep(args.results)
    settings = sweep.settings("model", "batch")
    draw(
        sweep,
        args.out,
        "attempts",
        "How many failed atomic RMWs (and lock polls) does one update cost, per method?"
        + (f" ({settings})" if settings else ""),
    )


if __name__ == "__main__":
    main()
