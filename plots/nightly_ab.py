"""History of the nightly A/B job: each benchmark's paired comparison over the recorded runs.

Reads every A/B document in --results (results/nightly/ab/*.json, as experiments/nightly/ab.py
writes them) and draws one panel per benchmark: per run, how much slower B was than A (the
median paired ratio, in time terms: > 0 is slower), its sign-test interval (bars), the verdict
(colour) and the smallest slowdown that run could have detected (a dash above it). Runs are in
date order, labelled with the date and build B. The values are the ones each run stored; runs
judged before the family rule (no verdict.family_size: each interval at its confidence alone)
are drawn hollow. A panel with a run far from 0 while the others sit at it, or a detectable
effect that grows over the runs, shows what one report alone does not. Writes
<out>/nightly_ab.png, .pdf and .caption.md.

  /usr/bin/python3 plots/nightly_ab.py --results results/nightly/ab --out plots/figures
"""

import argparse
import glob
import json
import os
import re
import sys

# Run as a file (plots/NAME.py) rather than as a module (python3 -m plots.NAME): the package
# `plots` is then imported from the folder above this one.
if not __package__:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from plots.missing_modules import exit_if_missing  # noqa: E402

exit_if_missing("matplotlib", "numpy")  # no pandas, like nightly.py

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # files only: no display is needed or wanted
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

from plots.drawing import figure_file  # noqa: E402

# Okabe-Ito: vermillion for slower, sky blue for faster, blue for the same, grey for unjudged.
VERDICT_COLORS = {"slower": "#D55E00", "faster": "#56B4E9", "same": "#0072B2",
                  "too few pairs": "#999999"}
DETECTABLE_COLOR = "#000000"
MAX_PANELS = 8


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--results", default=os.path.join("results", "nightly", "ab"))
    p.add_argument("--out", default=os.path.join("plots", "figures"))
    p.add_argument("--benchmarks", metavar="REGEX",
                   help="draw the benchmarks whose name matches (default: those measured in at "
                   "least half of the runs, at most %d)" % MAX_PANELS)
    return p.parse_args()


def load(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if doc.get("kind") != "psgd-nightly-ab":
        raise SystemExit("%s: not a psgd nightly A/B document" % path)
    return doc


def run_date(doc, path):
    """When the run was made: a side's context date (psgd run's or Google Benchmark's), else the
    date in the file name."""
    for side in ("B", "A"):
        date = doc["builds"][side]["context"].get("date")
        if date:
            return date
    return os.path.basename(path)[:10]


def runs(folder):
    """Every A/B document in the folder, oldest first, with its date."""
    found = []
    for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
        doc = load(path)
        found.append((run_date(doc, path), os.path.basename(path), doc))
    if not found:
        raise SystemExit("no A/B results in %s (run `make nightly AGAINST=<revision>`)" % folder)
    return [(date, doc) for date, _, doc in sorted(found, key=lambda t: t[:2])]


def rows_by_name(doc):
    return {r["name"]: r for r in doc["verdict"]["rows"]}


def chosen_names(docs, pattern):
    """The benchmarks to draw: those matching pattern, or those measured in at least half of the
    runs (a step's GFLOP/s left out: its ratios are its samples/s's), most often measured first."""
    counts = {}
    for doc in docs:
        for name in rows_by_name(doc):
            counts[name] = counts.get(name, 0) + 1
    if pattern:
        names = sorted(n for n in counts if re.search(pattern, n))
        if not names:
            raise SystemExit("no benchmark matches --benchmarks '%s'" % pattern)
        return names
    names = [n for n in counts if not (n.endswith("/gflops") and "training_step" in n)]
    names.sort(key=lambda n: (-counts[n], n))
    frequent = [n for n in names if 2 * counts[n] >= len(docs)]
    return (frequent or names)[:MAX_PANELS]


def side_label(doc, side):
    """A short name of a build: its folder's last part, or its commit."""
    build = doc["builds"][side]
    folder = os.path.basename(os.path.normpath(build["dir"]))
    if folder in ("release", "") and build.get("git_sha"):
        return build["git_sha"][:7]
    return folder or "?"


def draw_panel(ax, name, docs):
    labelled = set()
    for x, doc in enumerate(docs):
        row = rows_by_name(doc).get(name)
        if row is None:
            continue
        family = "family_size" in doc["verdict"]
        verdict = row["verdict"]
        color = VERDICT_COLORS.get(verdict, VERDICT_COLORS["too few pairs"])
        y = 100 * row["slowdown"]
        if row["slowdown_low"] is None:
            err = [[0], [0]]
        else:
            err = [[y - 100 * row["slowdown_low"]], [100 * row["slowdown_high"] - y]]
        label = verdict if family else verdict + " (judged per benchmark)"
        ax.errorbar([x], [y], yerr=err, fmt="o", ms=4, capsize=2, lw=1, color=color,
                    markerfacecolor=color if family else "white",
                    label=None if label in labelled else label)
        labelled.add(label)
        if row["detectable"] is not None:
            det = "smallest detectable slowdown"
            ax.plot([x], [100 * row["detectable"]], marker="_", ms=9, mew=1.5,
                    color=DETECTABLE_COLOR, linestyle="none", gid="detectable",
                    label=None if det in labelled else det)
            labelled.add(det)
    ax.axhline(0.0, color="grey", lw=0.8)
    ax.set_title(name, fontsize=8)
    ax.set_ylabel("B slower than A (%)", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.legend()  # moved under the panels by figure_file.save


def main():
    args = parse_args()
    dated = runs(args.results)
    docs = [doc for _, doc in dated]
    names = chosen_names(docs, args.benchmarks)
    # Two panels a row while the runs' labels fit side by side, one wide panel a row after that
    # (about 0.2 inch per run keeps the rotated labels apart).
    cols = 2 if len(names) > 1 and len(docs) <= 16 else 1
    rows = (len(names) + cols - 1) // cols
    width = max(5.5, 0.2 * len(docs) + 1.5)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, 3.0 * rows + 0.8), squeeze=False)
    labels = ["%s %s\nB %s, %dp" % (date[5:10], date[11:16], side_label(doc, "B"),
                                    doc["settings"]["pairs"]) for date, doc in dated]
    for ax, name in zip(axes.flat, names):
        draw_panel(ax, name, docs)
        ax.set_xticks(range(len(docs)))
        ax.set_xticklabels(labels, fontsize=6, rotation=90)
        ax.set_xlim(-0.5, len(docs) - 0.5)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)  # no empty panel in the grid
    first = docs[0]["builds"]["A"]["context"]
    caption = ("%d A/B runs (`make nightly AGAINST=<rev>`) from %s to %s, %s; per run (x: date, "
               "UTC time, build B, pairs): dot, B's slowdown against A in time terms (the median "
               "paired ratio; > 0: slower), bars: its sign-test interval, colour: the verdict; "
               "dash: the smallest slowdown that run could have detected. Filled: judged with "
               "the run's intervals simultaneous over its benchmarks; hollow: each interval "
               "alone (runs before the family rule). Values as each run stored them."
               % (len(docs), dated[0][0][:10], dated[-1][0][:10],
                  first.get("cpu_model") or first.get("cpu") or "?"))
    figure_file.save(fig, args.out, "nightly_ab", caption,
                     "Did a benchmark's paired ratio move, and how small a change could each run "
                     "see?")


if __name__ == "__main__":
    main()
