#!/usr/bin/python3
"""Model averaging across MPI ranks: sync and local-sgd at a fixed worker count, by ranks x
threads: final test accuracy, final test loss and training time.

Reads results/<sweep>/ of experiments/averaging-mpi.json (the averaging study's multi-process
setting): one line per method over the ranks the W workers are split into (W / ranks threads
each; medians with the IQR band over repetitions). One rank is the shared-memory method; more
ranks run the same method with the exchange (MPI_Allreduce) between processes, so the lines show
what the exchange across processes costs in time and whether it changes the result. Runs whose
ranks x threads exceed the machine's hardware threads are counted in the caption. Prints the
medians as CSV on stdout. Writes <out>/averaging-mpi.png, .pdf, .caption.md.
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


def oversubscribed_ranks_text(rows, hardware_threads):
    """'; k of N runs oversubscribed (ranks x threads above the H hardware threads)', or ''."""
    if not hardware_threads:
        return ""
    over = sum(1 for r in rows if workers(r) > hardware_threads)
    if not over:
        return ""
    return (f"; {over} of {len(rows)} runs oversubscribed (ranks x threads above the "
            f"{hardware_threads} hardware threads)")


def main():
    args = common.parse_args(__doc__.splitlines()[0], "averaging-mpi")
    sweep = common.Sweep(args.results)
    sweep.require_separated("plots/averaging-mpi.py", "method", "ranks")
    finished = [r for r in sweep.rows if r["status"] not in common.UNFINISHED]
    methods = sorted({r["algo"] for r in finished})
    fig, axes = common.figure(1, len(MEASURES), width=4.3, height=3.3)
    print("algo,ranks,threads,runs," + ",".join(m for m, _ in MEASURES))
    for name in methods:
        rows = [r for r in finished if r["algo"] == name]
        ranks = sorted({int(r["ranks"]) for r in rows})
        medians = {}
        for j, (column, ylabel) in enumerate(MEASURES):
            samples = [[common.number(r[column]) for r in rows if int(r["ranks"]) == k]
                       for k in ranks]
            common.line_with_band(axes[0][j], ranks, samples, name, **common.method_style(name))
            medians[column] = [common.median_iqr(s)[0] for s in samples]
            axes[0][j].set_xlabel("MPI ranks (the workers split over them)")
            axes[0][j].set_ylabel(ylabel)
            axes[0][j].set_xscale("log", base=2)
            axes[0][j].set_xticks(ranks, [str(k) for k in ranks])
            axes[0][j].grid(alpha=0.3)
        for i, k in enumerate(ranks):
            at = [r for r in rows if int(r["ranks"]) == k]
            cells = ",".join("" if medians[c][i] is None else f"{medians[c][i]:.4f}"
                             for c, _ in MEASURES)
            print(f"{name},{k},{at[0]['threads']},{len(at)},{cells}")
    for ax in axes[0]:
        common.note_unfinished(ax, sweep.rows)
    axes[0][0].legend(loc="lower left", bbox_to_anchor=(0.0, 1.02), ncol=2,
                      fontsize=common.SMALL, frameon=False)
    counts = sorted({workers(r) for r in finished})
    extra = (f"W = {', '.join(str(w) for w in counts)} workers; "
             + common.outcome_text(sweep.rows)
             + oversubscribed_ranks_text(finished, sweep.hardware_threads()))
    common.save(fig, args.out, "averaging-mpi", sweep.caption(extra),
                "Does splitting the same workers over MPI ranks change what averaging reaches, "
                "and what does the exchange between processes cost?")


if __name__ == "__main__":
    main()
