"""History of the nightly regression job: each headline benchmark over the recorded nights.

Reads every psgd nightly document in --results (results/nightly/<date>-<sha>.json, as
experiments/nightly/run_nightly.py writes them) and the baseline, and draws one panel per
headline benchmark: per night the median (dots, joined in date order) and the interquartile
range of that night's repetitions (bars); the baseline's median (line) and its noise band, the
range within which `psgd compare` cannot fail the job (median +- the minimum effect, in time
terms, as psgd compare computes it). A slow drift that never trips one comparison shows as
points walking out of the band. Writes <out>/nightly.png, .pdf and .caption.md.

  /usr/bin/python3 plots/nightly.py --results results/nightly \
      --baseline experiments/nightly/baseline.json --out plots/figures
"""

import argparse
import glob
import json
import math
import os
import sys

# Run as a file (plots/NAME.py) rather than as a module (python3 -m plots.NAME): the package
# `plots` is then imported from the folder above this one.
if not __package__:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from plots.missing_modules import exit_if_missing  # noqa: E402

exit_if_missing("matplotlib", "numpy")  # no pandas, unlike common

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # files only: no display is needed or wanted
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from plots.drawing import figure_file  # noqa: E402

# Okabe-Ito's bluish green and blue (the palette of plots/common.py).
BASELINE_COLOR, NIGHT_COLOR = "#009E73", "#0072B2"

# psgd compare's defaults (harness/compare/comparison.hpp): minimum effect and noise factor.
DEFAULT_MIN_EFFECT = 0.20
NOISE_FACTOR = 3.0


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--results", default=os.path.join("results", "nightly"))
    p.add_argument("--baseline", default=os.path.join("experiments", "nightly", "baseline.json"))
    p.add_argument("--out", default=os.path.join("plots", "figures"))
    p.add_argument("--min-effect", type=float, default=DEFAULT_MIN_EFFECT,
                   help="psgd compare's --min-effect (default: %(default)s)")
    return p.parse_args()


def load(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if doc.get("kind") != "psgd-nightly":
        raise SystemExit("%s: not a psgd nightly document" % path)
    return doc


def nights(folder):
    """Every nightly document in the folder, oldest first (by the recorded date)."""
    docs = [load(p) for p in sorted(glob.glob(os.path.join(folder, "*.json")))]
    if not docs:
        raise SystemExit("no nightly results in %s (run `make nightly`)" % folder)
    return sorted(docs, key=lambda d: d["context"].get("date") or "")


def by_name(doc):
    return {b["name"]: b for b in doc["benchmarks"]}


def band(baseline_entry, min_effect):
    """The values a night's median may take without failing the job, in the benchmark's unit."""
    med = baseline_entry["median"]
    logs = [math.log(v) for v in baseline_entry["samples"] if v > 0]
    spread = 0.0
    if len(logs) >= 3 and len(logs) == len(baseline_entry["samples"]):
        mid = float(np.median(logs))
        spread = 1.4826 * float(np.median([abs(v - mid) for v in logs]))
    # As psgd compare: the largest of --min-effect, the file's min_effect and the noise rule
    # (here on the baseline's spread alone; compare also looks at the new night's).
    effect = max(min_effect, baseline_entry.get("min_effect", 0.0),
                 math.expm1(NOISE_FACTOR * spread))
    # Slower by more than `effect` in time terms is med * (1 + effect) for a time and
    # med / (1 + effect) for a rate; faster is the other bound: the band is the same either way.
    return med / (1.0 + effect), med * (1.0 + effect)


def draw_panel(ax, name, docs, baseline, min_effect):
    xs, meds, lows, highs = [], [], [], []
    for i, doc in enumerate(docs):
        entry = by_name(doc).get(name)
        if entry is None:
            continue
        q1, q2, q3 = np.percentile(entry["samples"], [25, 50, 75])
        xs.append(i)
        meds.append(q2)
        lows.append(q2 - q1)
        highs.append(q3 - q2)
    base = by_name(baseline).get(name) if baseline else None
    latest = base or next(by_name(d)[name] for d in reversed(docs) if name in by_name(d))
    if base is not None:
        lo, hi = band(base, min_effect)
        ax.axhspan(lo, hi, color=BASELINE_COLOR, alpha=0.12, label="baseline +- min effect")
        ax.axhline(base["median"], color=BASELINE_COLOR, lw=1, label="baseline median")
    ax.errorbar(xs, meds, yerr=[lows, highs], fmt="o-", ms=3, lw=1, capsize=2,
                color=NIGHT_COLOR, label="night: median, IQR")
    direction = "higher is better" if latest["higher_is_better"] else "lower is better"
    ax.set_title(name, fontsize=8)
    ax.set_ylabel("%s (%s)" % (latest["unit"], direction), fontsize=8)
    ax.tick_params(labelsize=8)


def main():
    args = parse_args()
    docs = nights(args.results)
    baseline = load(args.baseline) if os.path.exists(args.baseline) else None
    names = [b["name"] for b in docs[-1]["benchmarks"] if b.get("headline")]
    if not names:
        names = [b["name"] for b in docs[-1]["benchmarks"]][:8]
    cols = 2
    rows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(11, 2.4 * rows + 0.8), squeeze=False)
    labels = ["%s\n%s" % ((d["context"].get("date") or "?")[:10],
                          (d["context"].get("git_sha") or "?")[:7]) for d in docs]
    for ax, name in zip(axes.flat, names):
        draw_panel(ax, name, docs, baseline, args.min_effect)
        ax.set_xticks(range(len(docs)))
        ax.set_xticklabels(labels, fontsize=8)
        ax.set_xlim(-0.5, len(docs) - 0.5)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    axes.flat[0].legend()  # moved under the panels by figure_file.save
    ctx = docs[-1]["context"]
    caption = ("%d nights; %s x %s, host %s; dots: each night's median over its repetitions, "
               "bars: their interquartile range; band: baseline median / (1 + e) .. x (1 + e), "
               "e = the benchmark's minimum effect (at least %.0f%%), the range within which "
               "psgd compare cannot fail the job"
               % (len(docs), ctx.get("cpu"), ctx.get("hardware_threads"), ctx.get("host"),
                  100 * args.min_effect))
    figure_file.save(fig, args.out, "nightly", caption,
                     "Has a headline benchmark drifted out of its baseline's noise band?")


if __name__ == "__main__":
    main()
