#!/usr/bin/python3
"""The numbers behind the study rows of docs/studies.md for the four scheme studies (schemes,
averaging, param-server, hybrid): per point, over its seeds, the median and the range (min..max) of
final test accuracy and loss, wall time, passes over the training data and the lost fraction of the
computed gradients; for schemes also the test accuracy every method had reached at one common
wall-clock time (the shortest median run time among the methods of that straggler setting), so
the methods are compared at equal passes and at equal time.

A difference between two points smaller than the spread across their seeds is "no difference
measured": compare the ranges, not the medians alone.

Usage: /usr/bin/python3 plots/scheme_verdicts.py --results DIR [--results DIR ...]
Prints one Markdown table per sweep folder on stdout.
"""

import argparse
import math
import os
import sys

# Run as a file (plots/NAME.py) rather than as a module (python3 -m plots.NAME): the package
# `plots` is then imported from the folder above this one.
if not __package__:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from plots.missing_modules import exit_if_missing  # noqa: E402

exit_if_missing("pandas")

from plots import psgd_results  # noqa: E402
from plots.sweep_folder import sort_key  # noqa: E402


def _get(doc, *path):
    """doc[path[0]][path[1]]..., or None where a key is missing (older documents)."""
    node = doc
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _lost_fraction(doc):
    gradients = _get(doc, "work", "gradients")
    lost = _get(doc, "work", "lost", "total")
    if not gradients or lost is None:
        return None
    return lost / gradients


# Columns of the table: (header, function of one run document -> number or None, format).
COLUMNS = (
    ("final test accuracy", lambda d: _get(d, "metrics", "final_test_accuracy"), "{:.3f}"),
    ("final test loss", lambda d: _get(d, "metrics", "final_test_loss"), "{:.3f}"),
    ("wall s", lambda d: _get(d, "metrics", "wall_seconds"), "{:.2f}"),
    ("passes", lambda d: _get(d, "work", "passes"), "{:.3f}"),
    ("lost", _lost_fraction, "{:.3f}"),
    ("updates", lambda d: _get(d, "updates", "applied"), "{:.0f}"),
    ("peak RSS MiB", lambda d: (_get(d, "resources", "peak_rss_bytes") or math.nan) / 2**20,
     "{:.0f}"),
    ("CPU cores", lambda d: _get(d, "resources", "cpu_utilisation"), "{:.2f}"),
)


# The accuracy the schemes' time-to-accuracy is read at: the study's 85% is out of reach of the
# quick scale's two passes, 80% is reached by every method.
TARGET = 0.80


def spread(values, fmt):
    """'median (min..max)' over the finite values, or '-' when there are none."""
    vals = sorted(v for v in values if v is not None and not math.isnan(v))
    if not vals:
        return "-"
    n = len(vals)
    median = vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2
    if n == 1:
        return fmt.format(median)
    return f"{fmt.format(median)} ({fmt.format(vals[0])}..{fmt.format(vals[-1])})"


def accuracy_at(doc, seconds):
    """The test accuracy of the last evaluated snapshot at or before `seconds`."""
    best = None
    for point in doc.get("series") or []:
        if point.get("seconds") is not None and point["seconds"] <= seconds:
            best = point.get("test_accuracy")
    return best


def time_to(doc, accuracy):
    """Seconds to the first evaluated snapshot at or above `accuracy`, or None."""
    for point in doc.get("series") or []:
        reached = point.get("test_accuracy")
        if reached is not None and reached >= accuracy:
            return point.get("seconds")
    return None


def label(doc):
    axes = _get(doc, "sweep", "axes") or {}
    parts = []
    for key, value in axes.items():
        if isinstance(value, dict):
            parts.append(" ".join(f"{k}={v}" for k, v in value.items()))
        else:
            parts.append(f"{key}={value}")
    return ", ".join(parts)


def table(folder):
    docs = [d for d in psgd_results.run_documents(folder).values()
            if d.get("status") not in psgd_results.UNFINISHED]
    points = {}
    for doc in docs:
        points.setdefault(_get(doc, "sweep", "point_id"), []).append(doc)
    print(f"\n### {folder}: {len(docs)} finished runs\n")
    print("| point | seeds | " + " | ".join(c[0] for c in COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 2) + "|")
    for point in sorted(points, key=sort_key):
        runs = points[point]
        cells = [spread([f(d) for d in runs], fmt) for _, f, fmt in COLUMNS]
        print(f"| {label(runs[0])} | {len(runs)} | " + " | ".join(cells) + " |")
    return points


def equal_time(points):
    """Schemes: accuracy at one common time per straggler setting."""
    by_setting = {}
    for runs in points.values():
        setting = _get(runs[0], "sweep", "axes", "slowdown") or "none"
        by_setting.setdefault(str(setting), []).append(runs)
    print("\nAt equal wall-clock time (per straggler setting: the shortest median run time):\n")
    for setting, groups in sorted(by_setting.items()):
        medians = []
        for runs in groups:
            walls = sorted(_get(d, "metrics", "wall_seconds") for d in runs)
            medians.append(walls[len(walls) // 2])
        t = min(medians)
        cells = []
        for runs in sorted(groups, key=lambda g: sort_key(label(g[0]))):
            cells.append(f"{label(runs[0])}: "
                         + spread([accuracy_at(d, t) for d in runs], "{:.3f}"))
        print(f"- slowdown {setting}, t = {t:.2f} s: " + "; ".join(cells))
    print(f"\nTime to {TARGET:.0%} test accuracy (s; runs that never reach it are left out):\n")
    for setting, groups in sorted(by_setting.items()):
        cells = [f"{label(runs[0])}: " + spread([time_to(d, TARGET) for d in runs], "{:.2f}")
                 for runs in sorted(groups, key=lambda g: sort_key(label(g[0])))]
        print(f"- slowdown {setting}: " + "; ".join(cells))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", action="append", required=True,
                        help="a sweep folder (repeatable)")
    args = parser.parse_args()
    for folder in args.results:
        points = table(folder)
        if "schemes" in folder:
            equal_time(points)


if __name__ == "__main__":
    main()
