#!/usr/bin/python3
"""Staleness distributions per batch size, one line per thread count, one row per algorithm.

Reads results/<sweep>/ of experiments/staleness.json (study item iii: batch size vs
staleness). Staleness tau of an applied update is the number of other updates applied between
the read of the parameters and the write. Each line is the median over repetitions of the
fraction of updates with staleness tau, with the interquartile band; the last column shows the
mean staleness vs batch size. Writes <out>/staleness.png and .pdf.
"""

import common


def distribution(doc):
    """P(tau = k) for k = 0.. from a run document (None when it has no staleness)."""
    st = doc.get("staleness") or {}
    hist = st.get("histogram") or []
    count = st.get("count") or 0
    if not count:
        return None
    return [h / count for h in hist]


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
                dists = [d for d in (distribution(sweep.doc(r)) for r in runs) if d]
                if not dists:
                    continue
                # Show tau up to the largest 99th percentile, so one long tail does not squash
                # every distribution against the axis.
                p99 = [common.number(r["staleness_p99"]) for r in runs]
                tau_max = max([tau_max] + [int(p) + 1 for p in p99 if p is not None])
                width = max(len(d) for d in dists)
                samples = [[d[k] if k < len(d) else 0.0 for d in dists] for k in range(width)]
                common.line_with_band(ax, list(range(width)), samples, label=f"{t} threads")
            ax.set_xlim(-0.5, tau_max + 0.5)
            ax.set_title(f"{algo}, batch {b}")
            ax.set_xlabel("staleness tau (updates)")
            ax.set_ylabel("fraction of applied updates")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
        ax = axes[i][len(batches)]
        for t in threads:
            by_batch = common.group(
                [r for r in finished if (r["algo"], r["threads"]) == (algo, t)], "batch"
            )
            common.line_with_band(
                ax,
                [common.number(k[0]) for k in by_batch],
                [[common.number(r["staleness_mean"]) for r in g] for g in by_batch.values()],
                label=f"{t} threads",
            )
        ax.set_xscale("log", base=2)
        ax.set_title(f"{algo}: mean staleness")
        ax.set_xlabel("batch size b (samples)")
        ax.set_ylabel("mean staleness (updates)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    caption = sweep.caption(
        "medians over repetitions with IQR bands; " + common.outcome_text(sweep.rows)
    )
    title = "How does the staleness of applied updates depend on the batch size?"
    common.save(fig, args.out, "staleness", caption, title)


if __name__ == "__main__":
    main()
