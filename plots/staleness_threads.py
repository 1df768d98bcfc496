#!/usr/bin/python3
"""Staleness vs thread count: its mean, one line per method, and its distribution, one box per
thread count, per method and batch size.

Reads results/<sweep>/ of experiments/staleness.json (the same runs as plots/staleness.py, which
draws staleness vs batch size; a second figure of that sweep). First panel: mean staleness vs
threads (median over repetitions, IQR band), colour per method, line style per batch size. Then
one panel per batch size: the distribution of staleness tau per thread count and method from the
run documents' full histograms (the repetitions' histograms added up): box 25th-75th
percentile, line the median, whiskers the 5th and 95th, a dot the 99th, a cross the mean.
Thread counts above the machine's hardware threads are shaded (oversubscribed). Writes
<out>/staleness_threads.png, .pdf and .caption.md.
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

STYLES = ("-", "--", ":", "-.")


def mean_panel(ax, sweep, rows, methods, batches, threads):
    """Mean staleness vs threads: colour per method, line style per batch size."""
    style = {b: STYLES[i % len(STYLES)] for i, b in enumerate(batches)}
    for m in methods:
        for b in batches:
            by_threads = common.group(
                [r for r in rows if common.method(r) == m and r["batch"] == b], "threads")
            common.line_with_band(
                ax,
                [common.number(k[0]) for k in by_threads],
                [[common.number(r["staleness_mean"]) for r in g] for g in by_threads.values()],
                label=None, linestyle=style[b], **common.method_style(m),
            )
    common.shade_oversubscribed(ax, sweep.hardware_threads(), threads)
    ax.set_xticks(threads, [str(int(t)) for t in threads])
    ax.set_xlabel("threads")
    ax.set_ylabel("mean staleness (updates)")
    ax.set_ylim(bottom=0)
    ax.set_title("mean staleness")
    ax.grid(alpha=0.3)
    curves.key_entries(ax, {m: common.method_style(m) for m in methods},
                       {f"batch {b}": style[b] for b in batches})
    ax.legend()


def distribution_panel(ax, sweep, rows, methods, threads):
    """One box per thread count and method (side by side, in the method's colour)."""
    hist = sweep.histograms()
    hist = hist[(hist["histogram"] == "staleness") & (hist["worker"] == -1)]
    width = 0.8 / max(1, len(methods))
    for k, m in enumerate(methods):
        stats, positions = [], []
        for i, t in enumerate(threads):
            runs = [r for r in rows if common.method(r) == m and common.number(r["threads"]) == t]
            ids = [r["run_id"] for r in runs]
            top = max([common.number(r["staleness_max"]) or 0 for r in runs] + [0])  # overflow
            s = common.box_stats(hist[hist["run_id"].isin(ids)], top)
            if s is not None:
                stats.append(s)
                positions.append(i + (k - (len(methods) - 1) / 2) * width)
        common.draw_boxes(ax, stats, positions, common.method_color(m), widths=width * 0.85)
    hardware = sweep.hardware_threads()
    over = [i for i, t in enumerate(threads) if hardware and t > hardware]
    if over:
        ax.axvspan(min(over) - 0.5, max(over) + 0.5, color="grey", alpha=0.12, linewidth=0,
                   label=f"oversubscribed (> {hardware} hardware threads)")
    ax.set_xlim(-0.5, len(threads) - 0.5)
    ax.set_xticks(range(len(threads)), [str(int(t)) for t in threads])
    ax.set_xlabel("threads")
    ax.set_ylabel("staleness tau (updates)")
    # Most updates have tau 0-2 and the tail reaches hundreds: symlog shows both.
    ax.set_yscale("symlog", linthresh=2)
    ax.yaxis.set_major_formatter(common.ScalarFormatter())  # 0, 1, 10 rather than 10^0
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)


def draw(sweep, out, name, title, script="plots/staleness_threads.py"):
    """The figure of any sweep with algo and threads axes whose runs have staleness: the mean
    vs threads, then the distributions, one panel per batch size (shared axis)."""
    sweep.require_separated(script, "method", "threads", "batch")
    finished = [r for r in sweep.rows if r["status"] not in common.UNFINISHED]
    methods = common.methods_of(sweep.rows)
    batches = sweep.values("batch")
    threads = sorted({common.number(t) for t in sweep.values("threads")})
    count = 1 + len(batches)
    ncols = 2 if count == 4 else min(count, 3)  # no strip wider than a page
    fig, grid = common.figure((count + ncols - 1) // ncols, ncols, width=4.0, height=3.2)
    axes = list(grid.flat)
    for ax in axes[count:]:
        ax.set_visible(False)
    mean_panel(axes[0], sweep, finished, methods, batches, threads)
    common.note_unfinished(axes[0], sweep.rows)
    for j, b in enumerate(batches, start=1):
        ax = axes[j]
        distribution_panel(ax, sweep, [r for r in finished if r["batch"] == b], methods, threads)
        ax.set_title(f"distribution, batch {b}")
        common.note_unfinished(ax, [r for r in sweep.rows if r["batch"] == b])
        if j > 1:
            ax.sharey(axes[1])
    if len(batches) and sweep.hardware_threads() and max(threads) > sweep.hardware_threads():
        axes[1].legend()  # the shading's entry
    caption = sweep.caption(
        "left: medians over repetitions with IQR bands; right: " + common.BOX_CAPTION
        + ", one box per method (colour) and thread count; symlog axis (linear below 2); "
        + common.outcome_text(sweep.rows) + common.oversubscribed_text(sweep.rows)
    )
    common.save(fig, out, name, caption, title)


def main():
    args = common.parse_args(__doc__.splitlines()[0], "staleness")
    sweep = common.Sweep(args.results)
    settings = sweep.settings("model", "step")
    draw(
        sweep,
        args.out,
        "staleness_threads",
        "How stale are the applied updates as threads are added?"
        + (f" ({settings})" if settings else ""),
    )


if __name__ == "__main__":
    main()
