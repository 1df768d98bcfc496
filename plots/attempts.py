#!/usr/bin/python3
"""The distribution of failed attempts per update (the reference's numtriesdist) per method and
thread count, and the failed RMWs and polls per update of every method.

Reads results/<sweep>/ of experiments/attempts.json. A failed attempt is a failed atomic
read-modify-write (a spin lock's exchange, an OS lock's try_lock, a Leashed publish CAS, a
hogwild-atomic coordinate CAS), counted the same way for every method; a poll is a lock test
that saw the lock held (no RMW). Left: the fraction of applied updates that needed at least k
failed attempts (k >= 1), from the run documents' full histograms
(contention.failed_attempts_per_update, the repetitions added up), one colour per method and a
line style per thread count. Middle: failed RMWs per applied update; right: polls and failed
tests (Leashed --test-before-cas) per applied update; medians over repetitions with IQR bars per
method and thread count, on symlog axes (polls of a spin lock are orders of magnitude above its
failed RMWs). Writes <out>/attempts.png, .pdf and .caption.md.
"""

import os
import sys

# Run as a file (plots/NAME.py) rather than as a module (python3 -m plots.NAME): the package
# `plots` is then imported from the folder above this one.
if not __package__:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from plots.missing_modules import exit_if_missing  # noqa: E402

exit_if_missing("matplotlib", "numpy", "pandas")

import numpy as np  # noqa: E402

from plots import common  # noqa: E402
from plots.drawing import curves  # noqa: E402


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


STYLES = ("-", "--", ":", "-.")


def distribution_panel(ax, sweep, rows, methods, threads, style):
    """P(an update needed at least k failed attempts), k >= 1, per method and thread count: the
    tail of numtriesdist on log axes (k = 0, nearly every update, is 1 minus the first point)."""
    beyond = []
    for m in methods:
        for t in threads:
            fractions, overflow = pooled(
                sweep, [r for r in rows if common.method(r) == m and r["threads"] == t])
            if fractions is None:
                continue
            tail = list(reversed(np.cumsum(list(reversed(fractions)))))  # P(>= k), bins only
            ks = [k for k in range(1, len(tail)) if tail[k] + overflow > 0]
            if overflow:
                beyond.append(f"{m} at {t} threads: {overflow:.1%}")
            if ks:
                ax.plot(ks, [tail[k] + overflow for k in ks], linestyle=style[t],
                        markersize=4, markevery=max(1, len(ks) // 12), **common.method_style(m))
    if not ax.lines:
        common.say_empty(ax, "no update needed a second attempt")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("failed attempts (RMWs) k")
    ax.set_ylabel("fraction of updates with >= k failed")
    ax.set_title("tail of failed attempts per update")
    ax.grid(alpha=0.3)
    return beyond


def per_update_panel(ax, sweep, rows, methods, threads, keys, ylabel):
    """Median per applied update of each contention counter in keys, per method (colour, side
    by side) and thread count (x): a dot with its IQR bar, no line between counts."""
    width = 0.8 / max(1, len(methods))
    for k, m in enumerate(methods):
        for key, fill in keys:
            xs, med, lo, hi = [], [], [], []
            for x, t in enumerate(threads):
                values = [per_update(sweep.doc(r), key) for r in rows
                          if common.method(r) == m and r["threads"] == t]
                stats = common.median_iqr(values)
                if stats[0] is None:
                    continue
                xs.append(x + (k - (len(methods) - 1) / 2) * width)
                med.append(stats[0])
                lo.append(stats[0] - stats[1])
                hi.append(stats[2] - stats[0])
            if xs:
                style = common.method_style(m)
                ax.errorbar(xs, med, yerr=[lo, hi], linestyle="none", capsize=2, markersize=5,
                            markerfacecolor=style["color"] if fill else "white", **style)
    ax.set_xticks(range(len(threads)), [f"{t}" for t in threads])
    ax.set_xlim(-0.5, len(threads) - 0.5)
    ax.set_xlabel("threads")
    ax.set_yscale("symlog", linthresh=0.01)
    common.leave_headroom(ax, 4)  # polls reach 1e5
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, axis="y")
    if not ax.lines:
        common.say_empty(ax, "no run counted these")


def draw(sweep, out, name, title, script="plots/attempts.py"):
    """The figure of any sweep with algo and threads axes (run documents with contention)."""
    sweep.require_separated(script, "method", "threads")
    finished = [r for r in sweep.rows if r["status"] not in common.UNFINISHED]
    methods = common.methods_of(sweep.rows)
    threads = sweep.values("threads")
    style = {t: STYLES[i % len(STYLES)] for i, t in enumerate(threads)}
    fig, axes = common.figure(1, 3, width=4.2, height=3.4)
    tail, rmws, polls = axes[0]
    beyond = distribution_panel(tail, sweep, finished, methods, threads, style)
    per_update_panel(rmws, sweep, finished, methods, threads, (("failed_attempts", True),),
                     "failed RMWs per applied update")
    rmws.set_title("failed RMWs per update")
    per_update_panel(polls, sweep, finished, methods, threads,
                     (("polls", True), ("failed_tests", False)),
                     "polls (filled), failed tests (open) per update")
    polls.set_title("lock polls and failed tests per update")
    for ax in axes[0]:
        common.note_unfinished(ax, sweep.rows)
    curves.key_entries(tail, {m: common.method_style(m) for m in methods},
                       {common.threads_label(t, sweep.rows): style[t] for t in threads})
    tail.legend()
    lock = ", ".join(v for v in sweep.values("lock") if v) if "lock" in sweep.columns else ""
    backoff = sweep.base().get("backoff", "none (the default)")
    caption = sweep.caption(
        f"backoff {backoff}; locks {lock or 'spin'}; left: repetitions pooled, a point per k "
        "that some update reached (an update with more failed attempts than the histogram's "
        "exact bins counts in every k" + (f": {'; '.join(beyond)}" if beyond else "") + "); "
        "middle and right: medians over repetitions with IQR bars, symlog axes (linear below "
        "0.01, so zeros show); a poll is a lock test that saw the lock held, a failed test a "
        "Leashed --test-before-cas test that saw a newer vector (neither is an RMW); "
        + common.outcome_text(sweep.rows) + common.oversubscribed_text(sweep.rows)
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
