#!/usr/bin/python3
"""Staleness vs thread count: its mean, one line per method, and its distribution, one box per
thread count, per method and batch size.

Reads results/<sweep>/ of experiments/staleness.json (the same runs as plots/staleness.py, which
draws staleness vs batch size; a second figure of that sweep). Top row: mean staleness vs threads
(median over repetitions, IQR band), one panel per batch size. Other rows, one per method: the
distribution of staleness tau per thread count from the run documents' full histograms (the
repetitions' histograms added up): box 25th-75th percentile, line the median, whiskers the 5th
and 95th, a dot the 99th, a cross the mean. Thread counts above the machine's hardware threads
are shaded (oversubscribed). Writes <out>/staleness_threads.png and .pdf.
"""

import common


def mean_panel(ax, sweep, rows, methods, threads):
    for m in methods:
        by_threads = common.group([r for r in rows if common.method(r) == m], "threads")
        common.line_with_band(
            ax,
            [common.number(k[0]) for k in by_threads],
            [[common.number(r["staleness_mean"]) for r in g] for g in by_threads.values()],
            label=m,
            color=common.method_color(m),
        )
    common.shade_oversubscribed(ax, sweep.hardware_threads(), threads)
    ax.set_xticks(threads)
    ax.set_xlabel("threads")
    ax.set_ylabel("mean staleness (updates)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend()


def distribution_panel(ax, sweep, rows, m, threads):
    hist = sweep.histograms()
    hist = hist[(hist["histogram"] == "staleness") & (hist["worker"] == -1)]
    stats, positions = [], []
    for t in threads:
        runs = [r for r in rows if common.method(r) == m and common.number(r["threads"]) == t]
        ids = [r["run_id"] for r in runs]
        top = max([common.number(r["staleness_max"]) or 0 for r in runs] + [0])  # overflow's value
        s = common.box_stats(hist[hist["run_id"].isin(ids)], top)
        if s is not None:
            stats.append(s)
            positions.append(t)
    common.draw_boxes(ax, stats, positions, common.method_color(m))
    common.shade_oversubscribed(ax, sweep.hardware_threads(), threads)
    ax.set_xlim(min(threads) - 0.7, max(threads) + 0.7)
    ax.set_xticks(threads, [str(int(t)) for t in threads])
    ax.set_xlabel("threads")
    ax.set_ylabel("staleness tau (updates)")
    # Most updates have tau 0-2 and the tail reaches hundreds: symlog shows both.
    ax.set_yscale("symlog", linthresh=2)
    ax.yaxis.set_major_formatter(common.ScalarFormatter())  # 0, 1, 10 rather than 10^0
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)


def panels(batches, methods):
    """(batch, method or None for the mean panel, row, column) of every panel. Several batch
    sizes: one column each, the mean on top, then one row per method; a single batch size: the
    same panels wrapped into rows of four."""
    if len(batches) > 1:
        return [
            (b, m, i, j)
            for j, b in enumerate(batches)
            for i, m in enumerate([None] + methods)
        ], 1 + len(methods), len(batches)
    cells = [None] + methods
    ncols = min(4, len(cells))
    return [
        (batches[0], m, k // ncols, k % ncols) for k, m in enumerate(cells)
    ], (len(cells) + ncols - 1) // ncols, ncols


def draw(sweep, out, name, title):
    """The figure of any sweep with algo and threads axes whose runs have staleness."""
    finished = [r for r in sweep.rows if r["status"] not in common.UNFINISHED]
    methods = common.methods_of(sweep.rows)
    batches = sweep.values("batch")
    threads = sorted({common.number(t) for t in sweep.values("threads")})
    layout, nrows, ncols = panels(batches, methods)
    fig, axes = common.figure(nrows, ncols, width=4.0, height=2.8)
    for ax in axes.flat[len(layout):]:
        ax.set_visible(False)
    for b, m, i, j in layout:
        ax = axes[i][j]
        rows = [r for r in finished if r["batch"] == b]
        if m is None:
            mean_panel(ax, sweep, rows, methods, threads)
            ax.set_title(f"batch {b}: mean staleness")
            common.note_unfinished(ax, [r for r in sweep.rows if r["batch"] == b])
            continue
        distribution_panel(ax, sweep, rows, m, threads)
        ax.set_title(f"{m}, batch {b}: distribution")
        common.note_unfinished(
            ax, [r for r in sweep.rows if r["batch"] == b and common.method(r) == m]
        )
    caption = sweep.caption(
        common.BOX_CAPTION + "; symlog axis (linear below 2); " + common.outcome_text(sweep.rows)
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
