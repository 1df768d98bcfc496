#!/usr/bin/python3
"""Train loss and test accuracy over wall-clock time, one curve per method, one row per thread
count: the study's main convergence figure on the reference framework's settings.

Reads results/<sweep>/ of experiments/reference.json and draws it as plots/threads_curves.py
draws the threads sweep: the median over repetitions with the interquartile band (a single run
as it is). Writes <out>/reference.png, .pdf and .caption.md.
"""

import common
import threads_curves


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
