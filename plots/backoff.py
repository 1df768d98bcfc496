#!/usr/bin/python3
"""Backoff policies vs contention and time-to-epsilon, one colour per method.

Reads results/<sweep>/ of experiments/backoff.json (study item iv). Four panels: failed attempts
(try_lock or CAS) per applied update, time waiting for locks, time in backoff pauses, and time to
epsilon; x: the backoff policy with its parameters; colour and marker: the method; line style:
the thread count. Medians over repetitions with interquartile error bars. Writes
<out>/backoff.png, .pdf and .caption.md.
"""

import os
import sys

# Run as a file (plots/NAME.py) rather than as a module (python3 -m plots.NAME): the package
# `plots` is then imported from the folder above this one.
if not __package__:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from plots.missing_modules import exit_if_missing  # noqa: E402

exit_if_missing("matplotlib", "numpy", "pandas")

from plots import common  # noqa: E402
from plots.drawing import curves  # noqa: E402

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


def style_panel(ax, i, ylabel, variants):
    ax.set_xticks(range(len(variants)), [v.replace(" ", "\n", 1) for v in variants])
    ax.set_ylabel(ylabel)
    if i < len(ROWS):
        # Failed RMWs per update and the seconds spent waiting span decades across the methods
        # (0 for an uncontended lock, ~1e-3 failed RMWs for a mutex with 2 workers, ~0.1 for
        # Leashed's publish CAS; microseconds of Leashed's backoff beside a tenth of a second of
        # the locks'): symlog shows them all on one shared axis, zeros included.
        ax.set_yscale("symlog", linthresh=LINEAR_BELOW[i])
        common.leave_headroom(ax, 3)
    else:
        ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.set_xlabel("backoff policy (waits in ns)")


# Where each symlog row turns linear (below the smallest non-zero value it must show).
LINEAR_BELOW = (1e-4, 1e-4, 1e-6)
STYLES = ("-", "--", ":", "-.")


def main():
    args = common.parse_args(__doc__.splitlines()[0], "backoff")
    sweep = common.Sweep(args.results)
    sweep.require_separated("plots/backoff.py", "method", "threads", "backoff", "backoff-min",
                            "backoff-max", "backoff-jitter")
    label, column = sweep.epsilon_column(args.epsilon)
    rows = [r for r in sweep.rows if r["status"] not in common.UNFINISHED]
    variants = []
    for r in sweep.rows:  # in plan order: the spec lists the policies in a deliberate order
        if variant(r) not in variants:
            variants.append(variant(r))
    methods = common.methods_of(sweep.rows)
    threads = sweep.values("threads")
    style = {t: STYLES[i % len(STYLES)] for i, t in enumerate(threads)}
    metrics = ROWS + ((column, f"time to epsilon {label} (s)"),)
    fig, grid = common.figure(2, 2, width=4.8, height=3.1)
    axes = list(grid.flat)
    series = [(m, t) for m in methods for t in threads]
    unresolved = {}
    for k, (m, t) in enumerate(series):
        runs = [r for r in rows if (common.method(r), r["threads"]) == (m, t)]
        # Methods and thread counts side by side within each policy: no error bar hides another.
        offset = (k - (len(series) - 1) / 2) * 0.06
        for i, (name, _) in enumerate(metrics):
            xs, med, err, positions = points(runs, name, variants, offset)
            if not xs:
                continue
            bars = axes[i].errorbar(xs, med, yerr=err, capsize=2, markersize=5,
                                    linestyle=style[t], **common.method_style(m))
            if name == column:
                n, pairs = resolution(axes[i], sweep, runs, variants, xs, med, positions,
                                      bars[0].get_color())
                done = unresolved.get(m, (0, 0))
                unresolved[m] = (done[0] + n, done[1] + max(pairs - 1, 0))
    for i, (_, ylabel) in enumerate(metrics):
        style_panel(axes[i], i, ylabel, variants)
        common.note_unfinished(axes[i], sweep.rows)
    curves.key_entries(axes[0], {m: common.method_style(m) for m in methods},
                       {common.threads_label(t, sweep.rows): style[t] for t in threads})
    axes[0].legend()
    lock = ", ".join(v for v in sweep.values("lock") if v) if "lock" in sweep.columns else ""
    unresolved_text = "; ".join(f"{m}: {n} of {p} neighbouring medians closer than the "
                                "checkpoint spacing" for m, (n, p) in unresolved.items() if n)
    caption = sweep.caption(
        "medians over repetitions, bars: IQR; colour and marker: method, line style: thread "
        "count; the first three panels on symlog axes (linear near 0, so zeros show); shaded "
        "bar under a time to epsilon: the spacing of the evaluated checkpoints (the target was "
        "crossed within it), so policies whose medians differ by less are not resolved"
        + (f" ({unresolved_text})" if unresolved_text else "") + "; "
        + common.outcome_text(sweep.rows) + (f"; lock {lock}" if lock else "")
        + common.oversubscribed_text(sweep.rows)
    )
    title = "Does a backoff policy reduce failed attempts and lock waiting, and at what cost?"
    common.save(fig, args.out, "backoff", caption, title)


if __name__ == "__main__":
    main()
