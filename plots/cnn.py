#!/usr/bin/python3
"""Train loss, test loss and test accuracy over wall-clock time on the cnn model, one colour per
method, one row per thread count (plots/threads_curves.py's figure on experiments/cnn.json).

The other families on the same cnn runs: plots/cnn_staleness.py, plots/cnn_attempts.py,
plots/cnn_memory.py. Writes <out>/cnn.png, .pdf, .caption.md.
"""

import common
import threads_curves


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
