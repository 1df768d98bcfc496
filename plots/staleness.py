#!/usr/bin/python3
"""Mean and 99th-percentile staleness vs batch size, one colour per method, one line style per
thread count.

Reads results/<sweep>/ of experiments/staleness.json (study item iii: batch size vs
staleness). Staleness tau of an applied update is the number of other updates applied between
the read of the parameters and the write. Left: the mean staleness of a run; right: its 99th
percentile (the tail the mean hides); each a median over repetitions with the interquartile
band, on shared axes. The whole distributions per thread count: plots/staleness_threads.py.
Writes <out>/staleness.png, .pdf and .caption.md.
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

PANELS = (("staleness_mean", "mean staleness (updates)"),
          ("staleness_p99", "99th percentile of staleness (updates)"))
STYLES = ("-", "--", ":", "-.")


def main():
    args = common.parse_args(__doc__.splitlines()[0], "staleness")
    sweep = common.Sweep(args.results)
    sweep.require_separated("plots/staleness.py", "method", "threads", "batch")
    finished = [r for r in sweep.rows if r["status"] not in common.UNFINISHED]
    methods = common.methods_of(finished)
    threads = sweep.values("threads")
    style = {t: STYLES[i % len(STYLES)] for i, t in enumerate(threads)}
    fig, axes = common.figure(1, len(PANELS), width=4.4, height=3.4, sharex=True)
    for ax, (column, ylabel) in zip(axes[0], PANELS):
        for m in methods:
            for t in threads:
                by_batch = common.group(
                    [r for r in finished if common.method(r) == m and r["threads"] == t], "batch")
                common.line_with_band(
                    ax, [common.number(k[0]) for k in by_batch],
                    [[common.number(r[column]) for r in g] for g in by_batch.values()],
                    label=None, linestyle=style[t], **common.method_style(m))
        ax.set_xscale("log", base=2)
        ax.set_xticks([common.number(b) for b in sweep.values("batch")])
        ax.set_xticklabels(sweep.values("batch"))
        ax.set_xlabel("batch size b (samples)")
        ax.set_ylabel(ylabel)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        common.note_unfinished(ax, sweep.rows)
    curves.key_entries(axes[0][0], {m: common.method_style(m) for m in methods},
                       {common.threads_label(t, sweep.rows): style[t] for t in threads})
    axes[0][0].legend()
    caption = sweep.caption(
        "medians over repetitions with IQR bands; colour and marker: method; line style: thread "
        "count (at 1 thread every method's staleness is 0, so those lines coincide); the "
        "distributions per thread count: staleness_threads.png; "
        + common.outcome_text(sweep.rows) + common.oversubscribed_text(sweep.rows)
    )
    title = "How does the staleness of applied updates depend on the batch size?"
    common.save(fig, args.out, "staleness", caption, title)


if __name__ == "__main__":
    main()
