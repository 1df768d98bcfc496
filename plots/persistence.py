#!/usr/bin/python3
"""Leashed-SGD persistence bound vs dropped gradients, staleness and time-to-epsilon.

Reads results/<sweep>/ of experiments/persistence.json. x: the persistence bound B (failed
publish attempts retried before a gradient is dropped; inf never drops); one line per thread
count (and per batch size and test-before-CAS setting when the sweep varies them). Medians over
repetitions with interquartile bands. Writes <out>/persistence.png, .pdf, .caption.md.
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


def dropped_fraction(row):
    dropped = common.number(row["dropped_gradients"])
    computed = common.number(row["updates_computed"])
    if dropped is None or not computed:
        return None
    return dropped / computed


def resolution(ax, sweep, by_bound, xs, column, color):
    """Draws each time-to-epsilon median's checkpoint spacing below it; returns (how many
    neighbouring medians differ by less than the widest spacing, how many neighbours)."""
    med = [common.median_iqr([common.number(r[column]) for r in g])[0] for g in by_bound.values()]
    spacing = [
        common.median_iqr([common.checkpoint_spacing(sweep, r) for r in g])[0]
        for g in by_bound.values()
    ]
    common.draw_resolution(ax, xs, med, spacing, color)
    known = [m for m in med if m is not None]
    widest = max([d for d in spacing if d] + [0.0])
    return common.unresolved_pairs(known, widest), max(len(known) - 1, 0)


def main():
    args = common.parse_args(__doc__.splitlines()[0], "persistence")
    sweep = common.Sweep(args.results)
    label, column = sweep.epsilon_column(args.epsilon)
    rows = [r for r in sweep.rows if r["status"] not in common.UNFINISHED]
    bounds = sweep.values("persistence")
    position = {b: i for i, b in enumerate(bounds)}
    # Every other axis that varies (threads, batch, test-before-cas) distinguishes the lines.
    line_keys = [a for a in sweep.axes if a not in ("persistence",) and len(sweep.values(a)) > 1]
    if not line_keys:
        line_keys = ["threads"]
    panels = (
        ("dropped gradients (fraction of computed)", dropped_fraction),
        ("mean staleness (updates)", lambda r: common.number(r["staleness_mean"])),
        (f"time to epsilon {label} (s)", lambda r: common.number(r[column])),
    )
    sweep.require_separated("plots/persistence.py", "method", "persistence", *line_keys)
    fig, axes = common.figure(1, len(panels), width=4.6, height=3.6, sharex=True)
    unresolved = [0, 0]
    for key, runs in common.group(rows, *line_keys).items():
        by_bound = common.group(runs, "persistence")
        xs = [position[k[0]] for k in by_bound]
        name = common.label_of(runs[0], line_keys)
        if "threads" in line_keys:
            name += " (oversubscribed)" if any(map(common.is_oversubscribed, runs)) else ""
        for ax, (_, value) in zip(axes[0], panels):
            style = {}
            if line_keys == ["threads"]:
                style["color"] = common.thread_color(key[0], sweep.values("threads"))
            line = common.line_with_band(
                ax, xs, [[value(r) for r in g] for g in by_bound.values()], name, **style
            )
        if line is not None:  # the time-to-epsilon panel: its checkpoint resolution
            n, pairs = resolution(axes[0][-1], sweep, by_bound, xs, column, line.get_color())
            unresolved = [unresolved[0] + n, unresolved[1] + pairs]
    for ax, (ylabel, _) in zip(axes[0], panels):
        ax.set_xticks(range(len(bounds)), bounds)
        ax.set_xlabel("persistence bound B (retries)")
        ax.set_ylabel(ylabel)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend()
        common.note_unfinished(ax, sweep.rows)
    axes[0][0].set_title("gradients given up")
    axes[0][1].set_title("staleness")
    axes[0][2].set_title("convergence")
    caption = sweep.caption(
        "medians over repetitions with IQR bands; shaded bar under a time to epsilon: the spacing "
        "of the evaluated checkpoints (the target was crossed within it), so bounds whose medians "
        "differ by less are not resolved"
        + (f" ({unresolved[0]} of {unresolved[1]} neighbouring medians here)"
           if unresolved[0] else "") + "; "
        + common.outcome_text(sweep.rows) + common.oversubscribed_text(sweep.rows)
    )
    title = (
        "What does bounding Leashed's retries (persistence B) cost in dropped gradients, "
        "staleness and time to epsilon?"
    )
    common.save(fig, args.out, "persistence", caption, title)


if __name__ == "__main__":
    main()
