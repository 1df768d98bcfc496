#!/usr/bin/python3
"""Staleness vs thread count on the cnn model: mean per method, distribution per thread count
(plots/staleness_threads.py's figure on experiments/cnn.json). Writes <out>/cnn_staleness.png,
.pdf and .caption.md.
"""

import common
import staleness_threads


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
