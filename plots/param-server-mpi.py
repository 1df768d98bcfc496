#!/usr/bin/python3
"""The parameter server across MPI ranks: sync, async and the hybrid at a fixed number of
computing slots, by ranks x threads: final test accuracy, final test loss, training time and the
CPU seconds of each rank.

Reads results/<sweep>/ of experiments/param-server-mpi.json (the parameter-server study's
multi-process setting: the server on rank 0, training too; the report gives the time on each
node). One line per method over the ranks the W slots are split into (W / ranks threads each;
medians with the IQR band over repetitions). One rank is the shared-memory method; more ranks
move the workers' pushes and pulls between processes. The right panel splits the CPU seconds by
rank (the ranks block of each run document): rank 0, which hosts the server, solid; the mean of
the other ranks, dashed (absent at 1 rank). Runs whose ranks x threads exceed the machine's
hardware threads are counted in the caption. Prints the medians as CSV on stdout. Writes
<out>/param-server-mpi.png, .pdf, .caption.md.
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
from plots.drawing.ranks import MEASURES, workers  # noqa: E402


def method_of(row):
    """'param-server sync', 'param-server async' or 'hybrid' (the palette's names)."""
    if row["algo"] == "param-server":
        return f"param-server {row.get('ps-mode') or 'async'}"
    return row["algo"]


def rank_cpu_seconds(doc):
    """(rank 0's CPU seconds, the mean over the other ranks or None): from the document's ranks
    block, or the run's own resources at 1 rank (a run in one process has no ranks block)."""
    ranks = doc.get("ranks") or []
    if not ranks:
        return doc.get("resources", {}).get("cpu_seconds"), None
    cpu = {r["rank"]: r.get("cpu_seconds") for r in ranks}
    others = [v for k, v in cpu.items() if k != 0 and v is not None]
    return cpu.get(0), (sum(others) / len(others) if others else None)


def oversubscribed_ranks_text(rows, hardware_threads):
    """'; k of N runs oversubscribed (ranks x threads above the H hardware threads)', or ''."""
    if not hardware_threads:
        return ""
    over = sum(1 for r in rows if workers(r) > hardware_threads)
    if not over:
        return ""
    return (f"; {over} of {len(rows)} runs oversubscribed (ranks x threads above the "
            f"{hardware_threads} hardware threads: the ranks compete for the cores)")


def draw_rank_cpu(ax, sweep, name, rows, ranks):
    """The CPU seconds of rank 0 (solid) and of the other ranks' mean (dashed) vs ranks."""
    split = {k: [rank_cpu_seconds(sweep.doc(r)) for r in rows if int(r["ranks"]) == k]
             for k in ranks}
    style = common.method_style(name)
    common.line_with_band(ax, ranks, [[s[0] for s in split[k]] for k in ranks], None, **style)
    others = [k for k in ranks if any(s[1] is not None for s in split[k])]
    if others:
        common.line_with_band(ax, others, [[s[1] for s in split[k]] for k in others], None,
                              linestyle="--", markerfacecolor="none", **style)
    return {k: [common.median_iqr([s[i] for s in split[k]])[0] for i in (0, 1)] for k in ranks}


def main():
    args = common.parse_args(__doc__.splitlines()[0], "param-server-mpi")
    sweep = common.Sweep(args.results)
    sweep.require_separated("plots/param-server-mpi.py", "method", "ps-mode", "switch", "ranks")
    finished = [r for r in sweep.rows if r["status"] not in common.UNFINISHED]
    order = list(common.METHOD_COLORS)
    methods = sorted({method_of(r) for r in finished},
                     key=lambda m: (order.index(m) if m in order else len(order), m))
    fig, axes = common.figure(1, len(MEASURES) + 1, width=4.0, height=3.3)
    print("method,ranks,threads,runs," + ",".join(m for m, _ in MEASURES)
          + ",rank0_cpu_seconds,other_ranks_cpu_seconds")
    cpu_ax = axes[0][len(MEASURES)]
    for name in methods:
        rows = [r for r in finished if method_of(r) == name]
        ranks = sorted({int(r["ranks"]) for r in rows})
        medians = {}
        for j, (column, _) in enumerate(MEASURES):
            samples = [[common.number(r[column]) for r in rows if int(r["ranks"]) == k]
                       for k in ranks]
            common.line_with_band(axes[0][j], ranks, samples, name, **common.method_style(name))
            medians[column] = [common.median_iqr(s)[0] for s in samples]
        cpu = draw_rank_cpu(cpu_ax, sweep, name, rows, ranks)
        for i, k in enumerate(ranks):
            at = [r for r in rows if int(r["ranks"]) == k]
            cells = [medians[c][i] for c, _ in MEASURES] + cpu[k]
            text = ",".join("" if v is None else f"{v:.4f}" for v in cells)
            print(f"{name},{k},{at[0]['threads']},{len(at)},{text}")
    all_ranks = sorted({int(r["ranks"]) for r in finished})
    ylabels = [label for _, label in MEASURES] + ["CPU seconds per rank"]
    for ax, ylabel in zip(axes[0], ylabels):
        ax.set_xlabel("MPI ranks (the slots split over them)")
        ax.set_ylabel(ylabel)
        if all_ranks:
            ax.set_xscale("log", base=2)
            ax.set_xticks(all_ranks, [str(k) for k in all_ranks])
        ax.grid(alpha=0.3)
        common.note_unfinished(ax, sweep.rows)
    cpu_ax.plot([], [], color="grey", label="rank 0 (the server's)")
    cpu_ax.plot([], [], color="grey", linestyle="--", label="other ranks (mean)")
    cpu_ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.02), ncol=1,
                  fontsize=common.SMALL, frameon=False)
    axes[0][0].legend(loc="lower left", bbox_to_anchor=(0.0, 1.02), ncol=2,
                      fontsize=common.SMALL, frameon=False)
    counts = sorted({workers(r) for r in finished})
    extra = (f"W = {', '.join(str(w) for w in counts)} computing slots (the server training "
             "too); right: CPU seconds of rank 0 (solid) and the mean of the other ranks (dashed)"
             "; " + common.outcome_text(sweep.rows)
             + oversubscribed_ranks_text(finished, sweep.hardware_threads()))
    common.save(fig, args.out, "param-server-mpi", sweep.caption(extra),
                "Does splitting the parameter server's workers over MPI ranks change what it "
                "reaches, and what does each rank spend?")


if __name__ == "__main__":
    main()
