#!/usr/bin/python3
"""Time-to-epsilon and samples per second vs threads, one line per method, one column per placement.

Reads results/<sweep>/ of experiments/threads.json (study item i: memory model x parallelism;
compact placement is the UMA layout, scatter the NUMA one). Throughput is in training samples
per second for every method: one sync update averages all workers' gradients (workers x b
samples), the others' one worker's b, so updates per second would understate sync by the worker
count. Oversubscribed thread counts are shaded and their points ringed. Writes
<out>/threads.png, .pdf, .caption.md.
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


def main():
    args = common.parse_args(__doc__.splitlines()[0], "threads")
    sweep = common.Sweep(args.results)
    sweep.require_separated("plots/threads.py", "method", "placement", "threads")
    label, column = sweep.epsilon_column(args.epsilon)
    placements = sweep.values("placement")
    algos = common.methods_of(sweep.rows)
    fig, axes = common.figure(2, len(placements), sharey="row")
    for col, placement in enumerate(placements):
        rows = [r for r in sweep.rows if r["placement"] == placement]
        top, bottom = axes[0][col], axes[1][col]
        for algo in algos:
            by_threads = common.group([r for r in rows if common.method(r) == algo], "threads")
            if not by_threads:
                continue
            xs = [common.number(k[0]) for k in by_threads]
            for ax, name in ((top, column), (bottom, "samples_per_second")):
                common.line_with_band(
                    ax,
                    xs,
                    [[common.number(r[name]) for r in g] for g in by_threads.values()],
                    label=algo,
                    **common.method_style(algo),
                )
                common.mark_oversubscribed_groups(
                    ax, by_threads, lambda r, name=name: common.number(r[name])
                )
        threads = [common.number(v) for v in sweep.values("threads")]
        for ax in (top, bottom):
            common.shade_oversubscribed(ax, sweep.hardware_threads(), threads)
            common.note_unfinished(ax, rows)
        top.set_title(f"{placement} placement: convergence")
        top.set_ylabel(f"time to {label} of initial loss (s)")
        bottom.set_title(f"{placement} placement: throughput")
        # Samples, not updates: one sync update averages the gradients of all workers (workers x
        # b samples), one update of the other methods is one worker's b samples.
        bottom.set_ylabel("training samples per second (1/s)")
        for ax in (top, bottom):
            ax.set_xlabel("threads")
            ax.grid(alpha=0.3)
            ax.set_ylim(bottom=0)
            ax.legend()
        top.set_xticks(sorted({common.number(v) for v in sweep.values("threads")}))
        bottom.set_xticks(top.get_xticks())
    caption = sweep.caption(
        f"medians over repetitions with IQR bands; {common.reached_text(sweep.rows, column, label)}"
        " (the others are left out of the top row); throughput in samples/s (a sync update is "
        "workers x b samples, the others' b); ringed: oversubscribed; "
        + common.outcome_text(sweep.rows)
    )
    settings = sweep.settings("model", "batch", "step")
    title = "How does each method's time to epsilon and sample throughput scale with threads?"
    common.save(fig, args.out, "threads", caption, title + (f" ({settings})" if settings else ""))


if __name__ == "__main__":
    main()
