#!/usr/bin/python3
"""Backoff policies vs contention and time-to-epsilon, one column per algorithm.

Reads results/<sweep>/ of experiments/backoff.json (study item iv). Rows: failed attempts
(try_lock or CAS) per applied update, time waiting for locks, time in backoff pauses, and time to
epsilon; x: the backoff policy with its parameters; one line per thread count. Medians over
repetitions with interquartile error bars. Writes <out>/backoff.png and .pdf.
"""

import common

ROWS = (
    ("failed_attempts_per_update", "failed attempts per update", 1.0),
    ("lock_wait_seconds", "lock wait (s, all workers)", 1.0),
    ("backoff_seconds", "time in backoff (s, all workers)", 1.0),
)


def variant(row):
    """A readable name of the backoff policy and the parameters it uses."""
    policy = row.get("backoff", "")
    if policy in ("", "none"):
        return "none"
    lo, hi = row.get("backoff-min", ""), row.get("backoff-max", "")
    jitter = row.get("backoff-jitter", "")
    text = f"{policy} {lo}" if policy == "constant" else f"{policy} {lo}-{hi}"
    text += " ns"
    return text + (f" j{jitter}" if jitter not in ("", "0.5") else "")


def main():
    args = common.parse_args(__doc__.splitlines()[0], "backoff")
    sweep = common.Sweep(args.results)
    label, column = sweep.epsilon_column(args.epsilon)
    rows = [r for r in sweep.rows if r["status"] not in common.UNFINISHED]
    variants = []
    for r in sweep.rows:  # in plan order: the spec lists the policies in a deliberate order
        if variant(r) not in variants:
            variants.append(variant(r))
    algos = sweep.values("algo")
    threads = sweep.values("threads")
    metrics = ROWS + ((column, f"time to epsilon {label} (s)", 1.0),)
    fig, axes = common.figure(len(metrics), len(algos), width=4.6, height=2.9)
    for j, algo in enumerate(algos):
        for k, t in enumerate(threads):
            runs = [r for r in rows if (r["algo"], r["threads"]) == (algo, t)]
            # Thread counts side by side within each policy, so the error bars do not overlap.
            offset = (k - (len(threads) - 1) / 2) * 0.08
            for i, (name, _, scale) in enumerate(metrics):
                stats = [
                    common.median_iqr(
                        [common.number(r[name]) for r in runs if variant(r) == v]
                    )
                    for v in variants
                ]
                xs = [x + offset for x, s in enumerate(stats) if s[0] is not None]
                med = [s[0] * scale for s in stats if s[0] is not None]
                err = [
                    [(s[0] - s[1]) * scale for s in stats if s[0] is not None],
                    [(s[2] - s[0]) * scale for s in stats if s[0] is not None],
                ]
                if xs:
                    axes[i][j].errorbar(
                        xs, med, yerr=err, marker="o", capsize=3, label=f"{t} threads"
                    )
        for i, (_, ylabel, _) in enumerate(metrics):
            ax = axes[i][j]
            ax.set_xticks(range(len(variants)), variants, rotation=25, ha="right", fontsize=7)
            ax.set_ylabel(ylabel, fontsize=8)
            if i == 0:
                # A spin lock without backoff fails ~10^5 times per update, with backoff < 1:
                # only a log scale shows both (symlog also shows the zeros of hogwild-like runs).
                ax.set_yscale("symlog", linthresh=0.01)
            ax.set_ylim(bottom=0)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=6)
            if i == 0:
                ax.set_title(algo)
            if i == len(metrics) - 1:
                ax.set_xlabel("backoff policy (waits in ns)")
    lock = ", ".join(v for v in sweep.values("lock") if v) if "lock" in sweep.columns else ""
    caption = sweep.caption(
        "medians over repetitions, bars: IQR; " + common.outcome_text(sweep.rows)
        + (f"; lock {lock}" if lock else "")
    )
    title = "Does a backoff policy reduce failed attempts and lock waiting, and at what cost?"
    common.save(fig, args.out, "backoff", caption, title)


if __name__ == "__main__":
    main()
