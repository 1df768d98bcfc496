#!/usr/bin/python3
"""Parameter server batch-size study: wall time, final test loss, final test accuracy, peak RSS
and CPU utilisation vs batch size, synchronous vs asynchronous server.

Reads results/<sweep>/ of experiments/param-server.json: one line per (ps-mode, threads) over the
batch size (medians with the IQR band over repetitions). The threads count the server, which
computes no gradient. Prints the medians as CSV on stdout. Writes <out>/param-server.png and .pdf.
"""

import common

MEASURES = (("wall_seconds", "training time (s)"),
            ("final_test_loss", "final test loss"),
            ("final_test_accuracy", "final test accuracy"),
            ("peak_rss_bytes", "peak RSS (MiB)"),
            ("cpu_utilisation", "CPU utilisation (cores)"))


def value(row, column):
    v = common.number(row.get(column))
    if v is not None and column == "peak_rss_bytes":
        v /= 2**20
    return v


def main():
    args = common.parse_args(__doc__.splitlines()[0], "param-server")
    sweep = common.Sweep(args.results)
    finished = [r for r in sweep.rows if r["status"] not in common.UNFINISHED]
    fig, axes = common.figure(1, len(MEASURES), width=3.6, height=3.2)
    print("ps_mode,threads,batch,runs," + ",".join(m for m, _ in MEASURES))
    for key, rows in common.group(finished, "ps-mode", "threads").items():
        mode, threads = key
        batches = sorted({int(r["batch"]) for r in rows})
        label = f"{mode}, {threads} threads (1 server)"
        for j, (column, ylabel) in enumerate(MEASURES):
            samples = [[value(r, column) for r in rows if int(r["batch"]) == b] for b in batches]
            common.line_with_band(axes[0][j], batches, samples, label)
            ax = axes[0][j]
            ax.set_xscale("log", base=2)
            ax.set_xlabel("batch size")
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3)
        for b in batches:
            at = [r for r in rows if int(r["batch"]) == b]
            cells = ",".join(
                f"{common.median_iqr([value(r, c) for r in at])[0] or 0:.4g}" for c, _ in MEASURES)
            print(f"{mode},{threads},{b},{len(at)},{cells}")
    for ax in axes[0]:
        common.note_unfinished(ax, sweep.rows)
    axes[0][0].legend()
    caption = sweep.caption(common.outcome_text(sweep.rows)
                            + common.oversubscribed_text(sweep.rows))
    common.save(fig, args.out, "param-server", caption,
                "How do time, accuracy, memory and CPU of a parameter server change with the "
                "batch size, synchronous vs asynchronous?")


if __name__ == "__main__":
    main()
