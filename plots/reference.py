#!/usr/bin/python3
"""Train loss and test accuracy over wall-clock time, one curve per method, one row per thread
count: the study's main convergence figure on the reference framework's settings.

Reads results/<sweep>/ of experiments/reference.json and draws it as plots/threads_curves.py
draws the threads sweep: the median over repetitions with the interquartile band (a single run
as it is). Writes <out>/reference.png, .pdf and .caption.md.
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
    args = common.parse_args(__doc__.splitlines()[0], "reference")
    sweep = common.Sweep(args.results)
    threads_curves.draw(
        sweep,
        args.out,
        "reference",
        "How fast does each method lower the loss in wall-clock time on the reference "
        "framework's settings?",
        "plots/reference.py",
    )


if __name__ == "__main__":
    main()
