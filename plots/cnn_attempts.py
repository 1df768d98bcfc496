#!/usr/bin/python3
"""Failed attempts per update and polls per update on the cnn model, per method and thread count
(plots/attempts.py's figure on experiments/cnn.json). Writes <out>/cnn_attempts.png, .pdf and
.caption.md.
"""

import attempts
import common


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
