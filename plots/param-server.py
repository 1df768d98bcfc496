#!/usr/bin/python3
"""Parameter server batch-size study: wall time, final test accuracy, peak RSS and CPU
utilisation vs batch size, synchronous vs asynchronous server (final test loss: CSV only).

Reads results/<sweep>/ of experiments/param-server.json: one line per (ps-mode, threads) over the
batch size (medians with the IQR band over repetitions). The threads count the server, which
computes no gradient. Prints the medians as CSV on stdout. Colours: the palette's param-server
sync and async. Writes
<out>/param-server.png, .pdf and .caption.md.
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

MEASURES = (("wall_seconds", "training time (s)"),
            ("final_test_accuracy", "final test accuracy"),
            ("peak_rss_bytes", "peak RSS (MiB)"),
            ("cpu_utilisation", "CPU utilisation (cores)"))
# Printed in the CSV, not drawn: the final test loss says what the accuracy panel says.
PRINTED = MEASURES[:1] + (("final_test_loss", "final test loss"),) + MEASURES[1:]


def value(row, column):
    v = common.number(row.get(column))
    if v is not None and column == "peak_rss_bytes":
        v /= 2**20
    return v


def main():
    args = common.parse_args(__doc__.splitlines()[0], "param-server")
    sweep = common.Sweep(args.results)
    finished = [r for r in sweep.rows if r["status"] not in common.UNFINISHED]
    sweep.require_separated("plots/param-server.py", "ps-mode", "threads", "batch")
    fig, grid = common.figure(2, 2, width=3.9, height=3.0, sharex=True)
    axes = list(grid.flat)
    print("ps_mode,threads,batch,runs," + ",".join(m for m, _ in PRINTED))
    groups = common.group(finished, "ps-mode", "threads")
    styles = ("-", "--", ":", "-.")
    for k, (key, rows) in enumerate(groups.items()):
        mode, threads = key
        batches = sorted({int(r["batch"]) for r in rows})
        label = f"{mode}, {threads} threads (1 server)"
        style = common.method_style(f"param-server {mode}")
        for j, (column, ylabel) in enumerate(MEASURES):
            samples = [[value(r, column) for r in rows if int(r["batch"]) == b] for b in batches]
            ax = axes[j]
            common.line_with_band(ax, batches, samples, label,
                                  linestyle=styles[k // 2 % len(styles)], **style)
            ax.set_xscale("log", base=2)
            ax.set_xticks(batches, [str(b) for b in batches])
            if j >= len(MEASURES) - 2:  # the bottom row's (the axis is shared)
                ax.set_xlabel("batch size")
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3)
        for b in batches:
            at = [r for r in rows if int(r["batch"]) == b]
            cells = ",".join(
                f"{common.median_iqr([value(r, c) for r in at])[0] or 0:.4g}" for c, _ in PRINTED)
            print(f"{mode},{threads},{b},{len(at)},{cells}")
    for ax in axes:
        common.note_unfinished(ax, sweep.rows)
    axes[0].legend()
    caption = sweep.caption(common.outcome_text(sweep.rows)
                            + common.oversubscribed_text(sweep.rows))
    common.save(fig, args.out, "param-server", caption,
                "How do time, accuracy, memory and CPU of a parameter server change with the "
                "batch size, synchronous vs asynchronous?")


if __name__ == "__main__":
    main()
