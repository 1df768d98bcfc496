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
import textwrap
from collections import OrderedDict

import matplotlib

matplotlib.use("Agg")  # files only: no display is needed or wanted
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

# The run options besides the algorithm that make it another method (see method()).
METHOD_OPTIONS = ("lock", "test-before-cas")

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
        # The options that name a method (method()) are index columns only where the spec varies
        # them; set in the spec's base they are every row's value.
        base = self.base()
        for key in METHOD_OPTIONS:
            if key not in self.columns and key in base:
                value = base[key]
                text = ("true" if value else "false") if isinstance(value, bool) else str(value)
                for row in self.rows:
                    row[key] = text

    @property
    def name(self):
        return self.plan.get("sweep", os.path.basename(os.path.normpath(self.folder)))

    @property
    def axes(self):
        return list(self.plan.get("axes", []))

    def base(self):
        """The options every run of the sweep got (the resolved spec's `base`)."""
        return dict(self.plan.get("spec", {}).get("base", {}))

    def settings(self, *names):
        """'name value, ...' of the base options `names` that the spec sets, for a title."""
        base = self.base()
        return ", ".join(f"{n} {base[n]}" for n in names if n in base)

    def context(self):
        """The machine context of the first readable run document ({} if none)."""
        for row in self.rows:
            try:
                context = self.doc(row).get("context", {})
            except (OSError, ValueError):
                continue
            if context:
                return context
        return {}

    @staticmethod
    def machine_of(context):
        return "{} ({} hardware threads, host {})".format(
            context.get("cpu", "unknown CPU"),
            context.get("hardware_threads", "?"),
            context.get("host", "?"),
        )

    def machines(self):
        """{machine: number of runs} over every readable run document."""
        out = OrderedDict()
        for row in self.rows:
            try:
                context = self.doc(row).get("context", {})
            except (OSError, ValueError):
                continue
            if context:
                name = self.machine_of(context)
                out[name] = out.get(name, 0) + 1
        return out

    def hardware_threads(self):
        return int(self.context().get("hardware_threads") or 0)

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
        context = self.context()
        machines = self.machines()
        if len(machines) > 1:  # runs resumed on another machine: say so, never hide it
            machine = "; ".join(f"{m} for {n} runs" for m, n in machines.items())
        else:
            machine = self.machine_of(context)
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


# The one method -> colour mapping of every figure, so a method has the same colour in all of
# them (tab10's colours; a method not listed gets grey). A method is the algorithm with the
# options that make it another method (method()).
METHOD_COLORS = OrderedDict(
    (name, plt.get_cmap("tab10").colors[i])
    for i, name in enumerate(
        (
            "mutex",
            "mutex (os lock)",
            "rwlock",
            "rwlock (os lock)",
            "hogwild",
            "hogwild-atomic",
            "leashed",
            "leashed (test-before-cas)",
            "sync",
            "seq",
        )
    )
)


def method(row):
    """The method of an index row: its algorithm, with ' (os lock)' where --lock os was set and
    ' (test-before-cas)' where that was."""
    name = row.get("algo", "")
    if row.get("lock") == "os":
        name += " (os lock)"
    if row.get("test-before-cas") == "true":
        name += " (test-before-cas)"
    return name


def method_color(name):
    return METHOD_COLORS.get(name, "grey")


def methods_of(rows):
    """The methods of rows in METHOD_COLORS order (unknown ones last, by name)."""
    names = {method(r) for r in rows}
    order = list(METHOD_COLORS)
    return sorted(names, key=lambda m: (order.index(m) if m in order else len(order), m))


def outcome_counts(rows):
    """{status: number of rows} over STATUSES, zeros included."""
    return OrderedDict((s, sum(1 for r in rows if r.get("status") == s)) for s in STATUSES)


# What a status means, in the words `psgd run`'s summary and index.csv use (status,
# epsilon_targets_reached, epsilon_reached_<label>): converged = every epsilon target reached.
STATUS_MEANING = {
    "converged": "all epsilon targets reached",
    "not_converged": "not all epsilon targets reached",
}


def outcome_text(rows):
    """'N runs: a converged (all epsilon targets reached), b not_converged (...), ...' for a
    caption: nothing is dropped silently."""
    counts = outcome_counts(rows)
    return f"{len(rows)} runs: " + ", ".join(
        f"{n} {s}" + (f" ({STATUS_MEANING[s]})" if s in STATUS_MEANING else "")
        for s, n in counts.items()
    )


def reached_text(rows, column, label):
    """'a/N runs reached epsilon target 50%': the count of rows with a time in column."""
    reached = sum(1 for r in rows if number(r.get(column)) is not None)
    return f"{reached}/{len(rows)} runs reached epsilon target {label}"


def note_unfinished(ax, rows):
    """Writes in the panel how many of its runs are invalid or crashed (left out of it)."""
    counts = outcome_counts(rows)
    missing = [f"{counts[s]} {s}" for s in UNFINISHED if counts[s]]
    if missing:
        ax.text(
            0.99, 0.01, "left out: " + ", ".join(missing), transform=ax.transAxes, fontsize=6,
            ha="right", va="bottom", color="firebrick",
        )


def is_oversubscribed(row):
    return row.get("oversubscribed", "").lower() == "true"


def shade_oversubscribed(ax, hardware_threads, xs):
    """Shades the thread counts above the machine's hardware threads (runs there share cores)."""
    xs = [x for x in xs if x is not None]
    if not hardware_threads or not xs or max(xs) <= hardware_threads:
        return
    ax.axvspan(
        hardware_threads + 0.5 if hardware_threads + 0.5 < max(xs) else hardware_threads,
        max(xs) + 0.5, color="grey", alpha=0.12, linewidth=0,
        label=f"oversubscribed (> {hardware_threads} hardware threads)",
    )


def label_of(row, columns):
    """'name=value, ...' for a legend entry."""
    return ", ".join(f"{c}={row.get(c, '')}" for c in columns)


def figure(nrows, ncols, width=4.2, height=3.3):
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(width * ncols, height * nrows + 0.6), squeeze=False
    )
    return fig, axes


def suptitle(fig, title):
    """The figure's title (the question it answers), wrapped at about 11 characters of an
    11-point title per inch of width. Returns the number of lines."""
    lines = textwrap.wrap(title, max(40, int(fig.get_figwidth() * 11)))
    fig.suptitle("\n".join(lines), fontsize=11, y=1.0 - 0.08 / fig.get_figheight(), va="top")
    return len(lines)


def save(fig, out, name, caption, title=None):
    """Writes out/name.png and out/name.pdf with the caption line under the plots and the title
    (the question the figure answers) above them."""
    os.makedirs(out, exist_ok=True)
    fig.text(0.01, 0.005, caption, fontsize=7, ha="left", va="bottom", wrap=True)
    if title:
        suptitle(fig, title)
    fig.tight_layout(rect=(0, 0.05, 1, 1.0 - 0.05 / fig.get_figheight()))
    paths = [os.path.join(out, f"{name}.{ext}") for ext in ("png", "pdf")]
    for path in paths:
        fig.savefig(path, dpi=150)
    plt.close(fig)
    for path in paths:
        print(path)
    return paths
