#!/usr/bin/python3
"""Backoff policies vs contention and time-to-epsilon, one column per algorithm.

Reads results/<sweep>/ of experiments/backoff.json (study item iv). Rows: failed attempts
(try_lock or CAS) per applied update, time waiting for locks, time in backoff pauses, and time to
epsilon; x: the backoff policy with its parameters; one line per thread count. Medians over
repetitions with interquartile error bars. Writes <out>/backoff.png and .pdf.
"""

import common

ROWS = (
    ("failed_attempts_per_update", "failed attempts per update"),
    ("lock_wait_seconds", "lock wait (s, all workers)"),
    ("backoff_seconds", "time in backoff (s, all workers)"),
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


def points(runs, name, variants, offset):
    """(xs, medians, IQR error bars) of column `name` per policy, shifted by offset."""
    stats = [
        common.median_iqr([common.number(r[name]) for r in runs if variant(r) == v])
        for v in variants
    ]
    keep = [(x, st) for x, st in enumerate(stats) if st[0] is not None]
    xs = [x + offset for x, _ in keep]
    err = [[st[0] - st[1] for _, st in keep], [st[2] - st[0] for _, st in keep]]
    return xs, [st[0] for _, st in keep], err, [x for x, _ in keep]


def resolution(ax, sweep, runs, variants, xs, med, positions, color):
    """Draws each time-to-epsilon's checkpoint spacing below it; returns how many adjacent
    policies' medians differ by less than it (unresolved)."""
    spacing = [
        common.median_iqr([common.checkpoint_spacing(sweep, r) for r in runs
                           if variant(r) == variants[p]])[0]
        for p in positions
    ]
    common.draw_resolution(ax, xs, med, spacing, color)
    widest = max([d for d in spacing if d] + [0.0])
    return common.unresolved_pairs(med, widest), len(med)


def style_panel(ax, i, last, ylabel, variants, algo):
    ax.set_xticks(range(len(variants)), variants, rotation=25, ha="right")
    ax.set_ylabel(ylabel)
    if i == 0:
        # Failed RMWs per update span decades: 0 for an uncontended lock, ~1e-3 for a mutex
        # with 2 workers, ~0.1 for Leashed's publish CAS. A log scale shows them all; symlog
        # (linear below 1e-4) also shows the zeros.
        ax.set_yscale("symlog", linthresh=1e-4)
        common.leave_headroom(ax, 3)
    else:
        ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend()
    if i == 0:
        ax.set_title(algo)
    if i == last:
        ax.set_xlabel("backoff policy (waits in ns)")


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
    metrics = ROWS + ((column, f"time to epsilon {label} (s)"),)
    fig, axes = common.figure(len(metrics), len(algos), width=4.6, height=2.9)
    for j, algo in enumerate(algos):
        unresolved = [0, 0]
        for k, t in enumerate(threads):
            runs = [r for r in rows if (r["algo"], r["threads"]) == (algo, t)]
            # Thread counts side by side within each policy, so the error bars do not overlap.
            offset = (k - (len(threads) - 1) / 2) * 0.08
            for i, (name, _) in enumerate(metrics):
                xs, med, err, positions = points(runs, name, variants, offset)
                if not xs:
                    continue
                bars = axes[i][j].errorbar(xs, med, yerr=err, marker="o", capsize=3,
                                           label=common.threads_label(t, sweep.rows),
                                           color=common.thread_color(t, threads))
                if name == column:
                    n, pairs = resolution(axes[i][j], sweep, runs, variants, xs, med, positions,
                                          bars[0].get_color())
                    unresolved = [unresolved[0] + n, unresolved[1] + max(pairs - 1, 0)]
        for i, (_, ylabel) in enumerate(metrics):
            style_panel(axes[i][j], i, len(metrics) - 1, ylabel, variants, algo)
            common.note_unfinished(axes[i][j], [r for r in sweep.rows if r["algo"] == algo])
        if unresolved[0]:
            axes[-1][j].set_title(f"{algo}: {unresolved[0]} of {unresolved[1]} neighbouring "
                                  "medians\ncloser than the checkpoint spacing")
    lock = ", ".join(v for v in sweep.values("lock") if v) if "lock" in sweep.columns else ""
    caption = sweep.caption(
        "medians over repetitions, bars: IQR; shaded bar under a time to epsilon: the spacing "
        "of the evaluated checkpoints (the target was crossed within it), so policies whose "
        "medians differ by less are not resolved; " + common.outcome_text(sweep.rows)
        + (f"; lock {lock}" if lock else "")
    )
    title = "Does a backoff policy reduce failed attempts and lock waiting, and at what cost?"
    common.save(fig, args.out, "backoff", caption, title)


if __name__ == "__main__":
    main()
