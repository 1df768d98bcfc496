#!/usr/bin/python3
"""Staleness distributions per batch size, one line per thread count, one row per algorithm.

Reads results/<sweep>/ of experiments/staleness.json (study item iii: batch size vs
staleness). Staleness tau of an applied update is the number of other updates applied between
the read of the parameters and the write. Each line is the median over repetitions of the
fraction of updates with staleness tau, with the interquartile band, on a log axis (the mass at
tau 0-2 and the rare long tail both show); the last column shows the mean staleness vs batch
size. Staleness vs threads: plots/staleness_threads.py. Writes <out>/staleness.png and .pdf.
"""

import common


def distributions(sweep, runs):
    """P(tau = k) for k = 0.. of each run (its whole-run staleness histogram), runs without
    staleness left out."""
    hist = sweep.histograms()
    hist = hist[(hist["histogram"] == "staleness") & (hist["worker"] == -1)]
    out = []
    for run_id, h in hist[hist["run_id"].isin([r["run_id"] for r in runs])].groupby("run_id"):
        counts, overflow = common.pooled_counts(h)
        total = int(counts.sum()) + overflow  # the overflow bin counts in the fractions' total
        if total:
            out.append([n / total for n in counts])
    return out


def main():
    args = common.parse_args(__doc__.splitlines()[0], "staleness")
    sweep = common.Sweep(args.results)
    finished = [r for r in sweep.rows if r["status"] not in common.UNFINISHED]
    algos = sweep.values("algo")
    batches = sweep.values("batch")
    threads = sweep.values("threads")
    fig, axes = common.figure(len(algos), len(batches) + 1, width=3.8)
    for i, algo in enumerate(algos):
        for j, b in enumerate(batches):
            ax = axes[i][j]
            tau_max = 1
            for t in threads:
                key = (algo, b, t)
                runs = [r for r in finished if (r["algo"], r["batch"], r["threads"]) == key]
                dists = distributions(sweep, runs)
                if not dists:
                    continue
                # Show tau up to the largest 99th percentile, so one long tail does not squash
                # every distribution against the axis.
                p99 = [common.number(r["staleness_p99"]) for r in runs]
                tau_max = max([tau_max] + [int(p) + 1 for p in p99 if p is not None])
                width = max(len(d) for d in dists)
                samples = [[d[k] if k < len(d) else 0.0 for d in dists] for k in range(width)]
                common.line_with_band(
                    ax, list(range(width)), samples, label=common.threads_label(t, runs),
                    color=common.thread_color(t, threads),
                )
            ax.set_xlim(-0.5, tau_max + 0.5)
            ax.set_title(f"{algo}, batch {b}")
            ax.set_xlabel("staleness tau (updates)")
            ax.set_ylabel("fraction of applied updates")
            # Log counts: the mass at tau 0-2 and a tail of 1e-4 of the updates both show.
            ax.set_yscale("log", nonpositive="mask")  # tau values no update had: a gap
            ax.grid(alpha=0.3)
            ax.legend()
        ax = axes[i][len(batches)]
        for t in threads:
            by_batch = common.group(
                [r for r in finished if (r["algo"], r["threads"]) == (algo, t)], "batch"
            )
            common.line_with_band(
                ax,
                [common.number(k[0]) for k in by_batch],
                [[common.number(r["staleness_mean"]) for r in g] for g in by_batch.values()],
                label=common.threads_label(t, sweep.rows),
                color=common.thread_color(t, threads),
            )
        ax.set_xscale("log", base=2)
        ax.set_title(f"{algo}: mean staleness")
        ax.set_xlabel("batch size b (samples)")
        ax.set_ylabel("mean staleness (updates)")
        ax.grid(alpha=0.3)
        ax.legend()
    caption = sweep.caption(
        "medians over repetitions with IQR bands; distributions on a log scale (a fraction of 0 is "
        "not drawn); staleness vs threads: staleness_threads.png; "
        + common.outcome_text(sweep.rows)
    )
    title = "How does the staleness of applied updates depend on the batch size?"
    common.save(fig, args.out, "staleness", caption, title)


if __name__ == "__main__":
    main()
