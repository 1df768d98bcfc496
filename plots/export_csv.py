#!/usr/bin/python3
"""Exports a sweep as CSV files for R or a spreadsheet: runs.csv, histograms.csv, series.csv.

usage: /usr/bin/python3 plots/export_csv.py SWEEP_DIR OUT_DIR

SWEEP_DIR is a folder `psgd sweep` wrote (results/<sweep>/: index.csv, sweep.json and the run
documents). OUT_DIR gets, in long format (one row per observation, keyed by run_id, with the
run's method, axes, threads, batch and status repeated so each file stands alone):
  runs.csv        one row per run: index.csv's columns, `method` and `finished`
  histograms.csv  one row per (run, histogram, worker, k): staleness and failed attempts per
                  update; worker -1 is the whole run; overflow=True counts k >= bins
  series.csv      one row per (run, evaluated snapshot): seconds, updates, epoch, losses, accuracy
The columns are those of psgd_results (plots/psgd_results.py, documented in docs/results.md).
Exit status: 0 written, 1 the folder is not a sweep (one line says why), 2 bad arguments.
"""

import argparse
import os
import sys

# Run as a file (plots/NAME.py) rather than as a module (python3 -m plots.NAME): the package
# `plots` is then imported from the folder above this one.
if not __package__:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from plots.missing_modules import exit_if_missing  # noqa: E402

exit_if_missing("pandas")

from plots import psgd_results  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", metavar="SWEEP_DIR", help="a folder `psgd sweep` wrote")
    parser.add_argument("out_dir", metavar="OUT_DIR", help="where the CSV files go")
    args = parser.parse_args()
    if not os.path.isfile(os.path.join(args.sweep_dir, "index.csv")):
        print(f"export_csv: {args.sweep_dir} has no index.csv: not a sweep folder",
              file=sys.stderr)
        return 1
    for path in psgd_results.export_csv(args.sweep_dir, args.out_dir):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
