#!/usr/bin/python3
"""Failed attempts per update and polls per update on the cnn model, per method and thread count
(plots/attempts.py's figure on experiments/cnn.json). Writes <out>/cnn_attempts.png, .pdf and
.caption.md.
"""

import os
import sys

# Run as a file (plots/NAME.py) rather than as a module (python3 -m plots.NAME): the package
# `plots` is then imported from the folder above this one.
if not __package__:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from plots.missing_modules import exit_if_missing  # noqa: E402

exit_if_missing("matplotlib", "numpy", "pandas")

from plots import attempts  # noqa: E402
from plots import common  # noqa: E402


def main():
    args = common.parse_args(__doc__.splitlines()[0], "cnn")
    attempts.draw(
        common.Sweep(args.results),
        args.out,
        "cnn_attempts",
        "On the cnn: how many failed atomic RMWs (and lock polls) does one update cost?",
        "plots/cnn_attempts.py",
    )


if __name__ == "__main__":
    main()
