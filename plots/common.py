"""Shared helpers of the figure scripts: read one sweep folder, medians with IQR, captions.

Every script reads only results/<sweep>/ as `psgd sweep` writes it: index.csv (one row per run,
columns documented in experiments/README.md), sweep.json (what was planned) and the run
documents named in the index's `file` column. Only the Python standard library, numpy and
matplotlib are used (Debian's python3-matplotlib), so the scripts run under /usr/bin/python3.
"""

import argparse
import csv
import json
import math
import os
from collections import OrderedDict

import matplotlib

matplotlib.use("Agg")  # files only: no display is needed or wanted
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

# Outcomes a run can have, in the order tables list them. `invalid`: the run refused its
# configuration (exit 2, e.g. more threads than hardware threads under compact placement);
# `crashed`: a signal, a timeout or an unexpected exit. Neither has metrics.
STATUSES = ("converged", "not_converged", "diverged", "invalid", "crashed")
UNFINISHED = ("invalid", "crashed")


def parse_args(description, sweep):
    """The command line every script shares: --results DIR --out DIR [--epsilon LABEL]."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--results",
        default=os.path.join("results", sweep + "-quick"),
        help="the sweep folder to read (default: %(default)s)",
    )
    parser.add_argument(
        "--out", default="figures", help="folder for the PNG and PDF (default: %(default)s)"
    )
    parser.add_argument(
        "--epsilon",
        default=None,
        help="epsilon target label, e.g. 25%%; default: the tightest target that at least half "
        "of the finished runs reached",
    )
    return parser.parse_args()


def number(text):
    """A CSV cell as a float, or None when empty or not a number."""
    if text is None or text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def sort_key(text):
    """Numbers in numeric order before words; 'inf' after every number."""
    value = number(text)
    if text == "inf":
        return (1, math.inf, "")
    if value is None:
        return (2, 0.0, text)
    return (0, value, "")


class Sweep:
    """One results/<sweep>/ folder: its index rows, its plan and its run documents."""

    def __init__(self, folder):
        self.folder = folder
        index = os.path.join(folder, "index.csv")
        if not os.path.exists(index):
            raise SystemExit(f"{index} not found: run `psgd sweep` first")
        with open(index, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            self.columns = list(reader.fieldnames or [])
            self.rows = list(reader)
        self.plan = {}
        plan_path = os.path.join(folder, "sweep.json")
        if os.path.exists(plan_path):
            with open(plan_path, encoding="utf-8") as f:
                self.plan = json.load(f)
        self._docs = {}

    @property
    def name(self):
        return self.plan.get("sweep", os.path.basename(os.path.normpath(self.folder)))

    @property
    def axes(self):
        return list(self.plan.get("axes", []))

    def doc(self, row):
        """The run document of an index row (cached)."""
        path = os.path.join(self.folder, row["file"])
        if path not in self._docs:
            with open(path, encoding="utf-8") as f:
                self._docs[path] = json.load(f)
        return self._docs[path]

    def values(self, column):
        """The distinct values of a column, in sort_key order."""
        return sorted({row.get(column, "") for row in self.rows}, key=sort_key)

    def epsilon_labels(self):
        """(label, column) of every time-to-epsilon column, loosest target first."""
        prefix = "time_to_epsilon_"
        out = []
        for column in self.columns:
            if column.startswith(prefix):
                label = column[len(prefix):]
                out.append((label[:-3] + "%" if label.endswith("pct") else label, column))
        return out

    def epsilon_column(self, wanted=None):
        """The time-to-epsilon column to plot: `wanted` (a label like 25%), or the tightest
        target that at least half of the finished runs reached."""
        labels = self.epsilon_labels()
        if not labels:
            raise SystemExit(f"{self.folder}: the index has no time_to_epsilon columns")
        if wanted:
            for label, column in labels:
                if label == wanted:
                    return label, column
            raise SystemExit(f"no epsilon '{wanted}'; valid: {', '.join(l for l, _ in labels)}")
        finished = [r for r in self.rows if r["status"] not in UNFINISHED]
        chosen = labels[0]
        for label, column in labels:
            reached = sum(1 for r in finished if number(r.get(column)) is not None)
            if finished and reached * 2 >= len(finished):
                chosen = (label, column)
        return chosen

    def caption(self, extra=""):
        """Machine, placement and sweep, for the line under every figure."""
        context = {}
        for row in self.rows:
            try:
                context = self.doc(row).get("context", {})
            except (OSError, ValueError):
                continue
            if context:
                break
        machine = "{} ({} hardware threads, host {})".format(
            context.get("cpu", "unknown CPU"),
            context.get("hardware_threads", "?"),
            context.get("host", "?"),
        )
        placements = ", ".join(v for v in self.values("placement") if v) or "n/a"
        memory = ", ".join(v for v in self.values("memory") if v) or "n/a"
        runs = len(self.rows)
        reps = self.plan.get("repetitions", "?")
        text = (
            f"machine: {machine}; placement: {placements}; memory: {memory}; "
            f"sweep {self.name}: {runs} runs, {reps} repetitions per point, build "
            f"{context.get('build_type', '?')}"
        )
        return text + ("; " + extra if extra else "")


def group(rows, *columns):
    """rows grouped by the values of columns, keys in sort_key order."""
    groups = {}
    for row in rows:
        key = tuple(row.get(c, "") for c in columns)
        groups.setdefault(key, []).append(row)
    ordered = sorted(groups, key=lambda k: tuple(sort_key(v) for v in k))
    return OrderedDict((k, groups[k]) for k in ordered)


def median_iqr(values):
    """(median, 25th percentile, 75th percentile) of the numbers in values, or Nones if none."""
    data = [v for v in values if v is not None and math.isfinite(v)]
    if not data:
        return None, None, None
    q25, q50, q75 = np.percentile(np.asarray(data, dtype=float), [25, 50, 75])
    return float(q50), float(q25), float(q75)


def line_with_band(ax, xs, samples, label, **style):
    """Median line over repetitions with the interquartile range as a shaded band.

    xs: positions; samples: one list of values per position (None = no value)."""
    stats = [median_iqr(s) for s in samples]
    px = [x for x, (m, _, _) in zip(xs, stats) if m is not None]
    med = [m for (m, _, _) in stats if m is not None]
    lo = [q for (m, q, _) in stats if m is not None]
    hi = [q for (m, _, q) in stats if m is not None]
    if not px:
        return None
    (line,) = ax.plot(px, med, marker="o", label=label, **style)
    ax.fill_between(px, lo, hi, alpha=0.2, color=line.get_color(), linewidth=0)
    return line


def colors(values):
    """A fixed colour per value, so one algorithm has one colour in every panel."""
    palette = plt.get_cmap("tab10").colors
    return {v: palette[i % len(palette)] for i, v in enumerate(values)}


def label_of(row, columns):
    """'name=value, ...' for a legend entry."""
    return ", ".join(f"{c}={row.get(c, '')}" for c in columns)


def figure(nrows, ncols, width=4.2, height=3.3):
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(width * ncols, height * nrows + 0.6), squeeze=False
    )
    return fig, axes


def save(fig, out, name, caption):
    """Writes out/name.png and out/name.pdf with the caption line under the plots."""
    os.makedirs(out, exist_ok=True)
    fig.text(0.01, 0.005, caption, fontsize=7, ha="left", va="bottom", wrap=True)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    paths = [os.path.join(out, f"{name}.{ext}") for ext in ("png", "pdf")]
    for path in paths:
        fig.savefig(path, dpi=150)
    plt.close(fig)
    for path in paths:
        print(path)
    return paths
