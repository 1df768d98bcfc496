#!/usr/bin/python3
"""Peak RSS, shared storage and live parameter vectors vs threads on the cnn model, per method
(plots/memory.py's figure on experiments/cnn.json). Writes <out>/cnn_memory.png, .pdf, .caption.md.
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
from plots import memory  # noqa: E402


def main():
    args = common.parse_args(__doc__.splitlines()[0], "cnn")
    memory.draw(
        common.Sweep(args.results),
        args.out,
        "cnn_memory",
        "On the cnn: how much memory does each method hold as threads are added?",
        "plots/cnn_memory.py",
    )


if __name__ == "__main__":
    main()
