#!/usr/bin/python3
"""Model averaging, synchronous (local-sgd) vs asynchronous (async-exchange), by workers: final
test accuracy, final test loss and wall time.

Reads results/<sweep>/ of experiments/averaging.json: one line per method over the thread count
(medians with the IQR band over repetitions), the accuracies reported by the mpi4py study
"Parallelized Stochastic Gradient Descent" (MNIST) as markers for its ordering (psgd runs
Fashion-MNIST, whose levels are lower). One thread of local-sgd is sequential SGD, so the study's
serial accuracy is marked there; one thread of async-exchange with the spec's --merge average is
not (it averages with its own old model), so it gets no serial marker. Prints the medians as
CSV on stdout. Writes <out>/averaging.png, .pdf, .caption.md.
"""

import os
import sys

# Run as a file (plots/NAME.py) rather than as a module (python3 -m plots.NAME): the package
# `plots` is then imported from the folder above this one.
if not __package__:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from plots.missing_modules import exit_if_missing  # noqa: E402

exit_if_missing("matplotlib", "numpy", "pandas")

from matplotlib.ticker import MaxNLocator  # noqa: E402

from plots import common  # noqa: E402


# The study's final accuracies ("Parallelized Stochastic Gradient Descent"): serial (on the
# local-sgd line, whose one thread is serial SGD), synchronous at 2-4, asynchronous at 2 / 3 / 4.
STUDY = {"local-sgd": {1: 0.888, 2: 0.92, 3: 0.92, 4: 0.92},
         "async-exchange": {2: 0.911, 3: 0.843, 4: 0.860}}
MEASURES = (("final_test_accuracy", "final test accuracy"),
            ("final_test_loss", "final test loss"),
            ("wall_seconds", "training time (s)"))


def main():
    args = common.parse_args(__doc__.splitlines()[0], "averaging")
    sweep = common.Sweep(args.results)
    sweep.require_separated("plots/averaging.py", "method", "threads")
    finished = [r for r in sweep.rows if r["status"] not in common.UNFINISHED]
    methods = sorted({r["algo"] for r in finished})
    fig, axes = common.figure(1, len(MEASURES), width=4.3, height=3.3)
    print("algo,threads,runs," + ",".join(m for m, _ in MEASURES))
    for name in methods:
        rows = [r for r in finished if r["algo"] == name]
        threads = sorted({int(r["threads"]) for r in rows})
        medians = {}
        for j, (column, ylabel) in enumerate(MEASURES):
            samples = [[common.number(r[column]) for r in rows if int(r["threads"]) == t]
                       for t in threads]
            common.line_with_band(axes[0][j], threads, samples, name,
                                  **common.method_style(name))
            medians[column] = [common.median_iqr(s)[0] for s in samples]
            axes[0][j].set_xlabel("workers (threads)")
            axes[0][j].set_ylabel(ylabel)
            axes[0][j].grid(alpha=0.3)
        for i, t in enumerate(threads):
            cells = ",".join("" if medians[c][i] is None else f"{medians[c][i]:.4f}"
                             for c, _ in MEASURES)
            runs = sum(1 for r in rows if int(r["threads"]) == t)
            print(f"{name},{t},{runs},{cells}")
        study = STUDY.get(name, {})
        axes[0][0].plot(list(study), list(study.values()), linestyle="none", marker="x",
                        color=common.method_color(name), label=f"{name}: study (MNIST)")
    hw = sweep.hardware_threads()
    for ax in axes[0]:
        common.shade_oversubscribed(ax, hw, [int(r["threads"]) for r in finished])
        common.note_unfinished(ax, sweep.rows)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # workers come in whole numbers
    # Above the panel, outside the data: the study's markers span the accuracy axis.
    axes[0][0].legend(loc="lower left", bbox_to_anchor=(0.0, 1.02), ncol=2,
                      fontsize=common.SMALL, frameon=False)
    caption = sweep.caption(common.outcome_text(sweep.rows))
    common.save(fig, args.out, "averaging", caption,
                "Does synchronous model averaging keep its accuracy as workers are added, and "
                "asynchronous averaging lose it?")


if __name__ == "__main__":
    main()
