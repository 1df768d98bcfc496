#!/usr/bin/python3
"""Staleness vs thread count on the cnn model: mean per method, distribution per thread count
(plots/staleness_threads.py's figure on experiments/cnn.json). Writes <out>/cnn_staleness.png,
.pdf and .caption.md.
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
from plots import staleness_threads  # noqa: E402


def main():
    args = common.parse_args(__doc__.splitlines()[0], "cnn")
    staleness_threads.draw(
        common.Sweep(args.results),
        args.out,
        "cnn_staleness",
        "On the cnn: how stale are the applied updates as threads are added?",
        "plots/cnn_staleness.py",
    )


if __name__ == "__main__":
    main()
