#!/usr/bin/python3
"""Peak RSS, shared storage and live parameter vectors vs threads on the cnn model, per method
(plots/memory.py's figure on experiments/cnn.json). Writes <out>/cnn_memory.png, .pdf, .caption.md.
"""

import common
import memory


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
