#!/usr/bin/python3
"""Time-to-epsilon and throughput vs threads, one line per method, one column per placement.

Reads results/<sweep>/ of experiments/threads.json (study item i: memory model x parallelism;
compact placement is the UMA layout, scatter the NUMA one). Writes <out>/threads.png and .pdf.
"""

import common


def main():
    args = common.parse_args(__doc__.splitlines()[0], "threads")
    sweep = common.Sweep(args.results)
    label, column = sweep.epsilon_column(args.epsilon)
    placements = sweep.values("placement")
    algos = common.methods_of(sweep.rows)
    fig, axes = common.figure(2, len(placements))
    for col, placement in enumerate(placements):
        rows = [r for r in sweep.rows if r["placement"] == placement]
        top, bottom = axes[0][col], axes[1][col]
        for algo in algos:
            by_threads = common.group([r for r in rows if common.method(r) == algo], "threads")
            if not by_threads:
                continue
            xs = [common.number(k[0]) for k in by_threads]
            common.line_with_band(
                top,
                xs,
                [[common.number(r[column]) for r in g] for g in by_threads.values()],
                label=algo,
                color=common.method_color(algo),
            )
            common.line_with_band(
                bottom,
                xs,
                [[common.number(r["updates_per_second"]) for r in g] for g in by_threads.values()],
                label=algo,
                color=common.method_color(algo),
            )
        threads = [common.number(v) for v in sweep.values("threads")]
        for ax in (top, bottom):
            common.shade_oversubscribed(ax, sweep.hardware_threads(), threads)
            common.note_unfinished(ax, rows)
        top.set_title(f"{placement} placement: convergence")
        top.set_ylabel(f"time to {label} of initial loss (s)")
        bottom.set_title(f"{placement} placement: throughput")
        bottom.set_ylabel("applied updates per second (1/s)")
        for ax in (top, bottom):
            ax.set_xlabel("threads")
            ax.grid(alpha=0.3)
            ax.set_ylim(bottom=0)
            ax.legend(fontsize=7)
        top.set_xticks(sorted({common.number(v) for v in sweep.values("threads")}))
        bottom.set_xticks(top.get_xticks())
    caption = sweep.caption(
        f"medians over repetitions with IQR bands; {common.reached_text(sweep.rows, column, label)}"
        " (the others are left out of the top row); " + common.outcome_text(sweep.rows)
    )
    settings = sweep.settings("model", "batch", "step")
    title = "How does each method's time to epsilon and throughput scale with threads?"
    common.save(fig, args.out, "threads", caption, title + (f" ({settings})" if settings else ""))


if __name__ == "__main__":
    main()
