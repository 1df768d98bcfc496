#!/usr/bin/python3
"""Train loss, test loss and test accuracy over wall-clock time on the cnn model, one colour per
method, one row per thread count (plots/threads_curves.py's figure on experiments/cnn.json).

The other families on the same cnn runs: plots/cnn_staleness.py, plots/cnn_attempts.py,
plots/cnn_memory.py. Writes <out>/cnn.png, .pdf, .caption.md.
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
from plots import threads_curves  # noqa: E402


def main():
    args = common.parse_args(__doc__.splitlines()[0], "cnn")
    sweep = common.Sweep(args.results)
    settings = sweep.settings("batch", "step")
    threads_curves.draw(
        sweep,
        args.out,
        "cnn",
        "On the cnn: how fast does each method lower the loss in wall-clock time, per thread "
        "count?" + (f" ({settings})" if settings else ""),
        "plots/cnn.py",
    )


if __name__ == "__main__":
    main()
