#!/usr/bin/python3
"""Step rule x step size heat maps per method and thread count: time-to-epsilon and outcomes.

Reads results/<sweep>/ of experiments/step-rules.json (staleness-adaptive steps: constant,
inverse, mindthestep, tail). The cells are drawn as in plots/hyperparams.py, with the step rule
in place of the batch size: a cell where some run reached epsilon is coloured by the median time
to epsilon of those runs; a cell where none did shows its most common outcome (not reached, diverged,
invalid, crashed), hatched when any run diverged, was invalid or crashed; every cell lists its
runs' outcomes (R reached, N not reached, D diverged, I invalid, X crashed). One row per method,
one column per thread count (oversubscribed counts are marked). Writes <out>/step-rules.png and
.pdf, and the counts as <out>/step-rules_counts.csv.
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
from plots import hyperparams  # noqa: E402  (its cells, legend and colour bar)

RULES = ["constant", "inverse", "mindthestep", "tail"]


def main():
    args = common.parse_args(__doc__.splitlines()[0], "step-rules")
    sweep = common.Sweep(args.results)
    label, column = sweep.epsilon_column(args.epsilon)
    algos = common.methods_of(sweep.rows)
    threads, steps = (sweep.values(a) for a in ("threads", "step"))
    present = set(sweep.values("step-rule"))
    rules = [r for r in RULES if r in present] + sorted(present - set(RULES))
    fig, axes = common.figure(len(algos), len(threads), width=4.4, height=3.4)
    cells = {}
    for r in sweep.rows:
        key = (common.method(r), r["threads"], r["step-rule"], r["step"])
        cells.setdefault(key, []).append(r)
    medians = [common.median_iqr([common.number(r[column]) for r in runs])[0]
               for runs in cells.values()]
    medians = [m for m in medians if m is not None] or [0.0, 1.0]
    norm = common.plt.Normalize(vmin=min(medians), vmax=max(max(medians), min(medians) + 1e-9))
    table = []
    for i, algo in enumerate(algos):
        for j, t in enumerate(threads):
            hyperparams.panel(axes[i][j], cells, (algo, t), rules, steps, column, norm, table,
                              row_label="step rule")
            axes[i][j].set_title(f"{algo}, {common.threads_label(t, sweep.rows)}")
    sweep.require_separated("plots/step-rules.py", "method", "threads", "step-rule", "step")
    settings = sweep.settings("model", "batch")
    title = (f"Do staleness-adaptive steps reach {label} of the initial loss where the constant "
             "step does not, and faster?" + (f" ({settings})" if settings else ""))
    caption = sweep.caption(
        hyperparams.cells_caption(label)
        + "rules: constant eta, inverse eta/max(1,tau), mindthestep (MindTheStep-AsyncSGD as psgd "
        "reads it), tail (ASAP.SGD's TAIL-tau); "
        + common.outcome_text(sweep.rows)
    )
    hyperparams.lay_out_and_write(fig, norm, label, args.out, "step-rules", caption, title,
                                  left=0.12, wspace=0.6)
    hyperparams.write_counts(os.path.join(args.out, "step-rules_counts.csv"), table, label,
                             row_column="step_rule")


if __name__ == "__main__":
    main()
