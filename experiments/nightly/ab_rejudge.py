#!/usr/bin/env python3
"""Judges stored A/B results again under the current decision rule (ab_stats.py), from the
paired ratios each document keeps: which runs would fail, which benchmarks would be flagged,
with what ratio and interval. Offline (no build, no measuring): how a change of the rule
(--min-effect, --confidence, --per-benchmark for the rule without a family) would have judged
the runs already made. Used for docs/nightly.md's false-alarm and detection counts.

    /usr/bin/python3 experiments/nightly/ab_rejudge.py results/nightly/ab/*.json

One line per document (its B folder says which build it measured, e.g. a slowed one), the
flagged benchmarks under it, and a summary per B folder: runs failed of runs.
Standard library only.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ab_stats  # noqa: E402


def rejudge(document, min_effect, confidence, per_benchmark=False, family=None):
    """(family size, rows) of one stored document under the rule; rows as ab_stats gives them,
    each with its name. family: judge as one part of a family of this many series (a short
    probe's pairs at the level a default run's 58 series would demand) instead of its own."""
    stored = document["verdict"]["rows"]
    if family is None:
        family = 1 if per_benchmark else ab_stats.family_size(r["ratios"] for r in stored)
    level = ab_stats.family_confidence(confidence, family)
    rows = []
    for r in stored:
        row = ab_stats.analyse_ratios(r["ratios"], r["higher_is_better"], min_effect, level)
        row["name"] = r["name"]
        rows.append(row)
    return family, rows


def describe(row):
    interval = "-" if row["low"] is None else "%.3f-%.3f" % (row["low"], row["high"])
    return "%s %s: B/A %.3f [%s], %+.1f%%" % (row["verdict"], row["name"], row["ratio"],
                                               interval, 100 * row["slowdown"])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("files", nargs="+", help="A/B result documents (results/nightly/ab/*.json)")
    p.add_argument("--min-effect", type=float, default=0.02)
    p.add_argument("--confidence", type=float, default=0.95)
    p.add_argument("--per-benchmark", action="store_true",
                   help="each interval at --confidence alone (no family), as before 2026-12-06")
    p.add_argument("--family", type=int, metavar="N",
                   help="judge every run as part of N distinct series (e.g. 58, a default run's)")
    args = p.parse_args(argv)
    summary = {}
    for path in args.files:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        family, rows = rejudge(doc, args.min_effect, args.confidence, args.per_benchmark,
                               args.family)
        slower = [r for r in rows if r["verdict"] == ab_stats.SLOWER]
        faster = [r for r in rows if r["verdict"] == ab_stats.FASTER]
        too_few = sum(r["verdict"] == ab_stats.TOO_FEW for r in rows)
        s = doc["settings"]
        b_dir = doc["builds"]["B"]["dir"]
        lo, hi = doc["verdict"]["load_range"]
        print("%s: B %s, %d pairs x %g s, family %d, load %s-%s: %s (stored: %s)" % (
            os.path.basename(path), b_dir, s["pairs"], s["min_time_seconds"], family, lo, hi,
            "FLAGGED" if slower else "pass", doc["verdict"]["status"]))
        for r in slower + faster:
            print("    " + describe(r))
        if too_few:
            print("    %d benchmarks not judged: too few pairs (a family of %d needs %d)"
                  % (too_few, family, ab_stats.min_pairs(args.confidence, family)))
        key = (b_dir, s["pairs"], s["min_time_seconds"], len(rows))
        runs, flagged = summary.get(key, (0, 0))
        summary[key] = (runs + 1, flagged + bool(slower))
    print()
    for (b_dir, pairs, min_time, n), (runs, flagged) in sorted(summary.items()):
        print("B %s, %d pairs x %g s, %d benchmarks: flagged in %d of %d runs"
              % (b_dir, pairs, min_time, n, flagged, runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
