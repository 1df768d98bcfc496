"""Shared helpers of the figure scripts: one sweep folder, medians with IQR, the method palette,
outcome counts, staleness boxes, oversubscription marks, checkpoint resolution and captions.

Every script reads only results/<sweep>/ as `psgd sweep` writes it (index.csv, sweep.json and the
run documents), and only through psgd_results (the documented loader, also for users' own
analyses). Debian's python3-matplotlib, python3-numpy and python3-pandas are used (`make
plots-deps`), so the scripts run under /usr/bin/python3.
"""

import argparse
import math
import os
from collections import OrderedDict

from plots.missing_modules import exit_if_missing

exit_if_missing("matplotlib", "numpy", "pandas")  # for a script that imports this module first

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # files only: no display is needed or wanted
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib.ticker import ScalarFormatter  # noqa: E402,F401  (for the scripts)
import numpy as np  # noqa: E402

from plots import psgd_results  # noqa: E402
from plots.drawing.figure_file import (  # noqa: E402,F401  (the scripts use common.*)
    EMPTY_GID, SMALL, figure, legend_outside, save, say_empty, suptitle, write)
from plots.sweep_folder import (  # noqa: E402,F401  (the scripts use common.*)
    Sweep, number, sort_key)

# Legible at column width: a panel is about 4 inches wide and a printed figure of two panels is
# shrunk to a 7-inch page width, so 9-10 pt here prints at about 8 pt (no label below 7 pt).
plt.rcParams.update(
    {
        "font.size": 10,
        "axes.titlesize": 10,
        "axes.labelsize": 10,
        "xtick.labelsize": 9,
        "ytick.labelsize": 9,
        "legend.fontsize": 8,
    }
)

METHOD_OPTIONS = psgd_results.METHOD_OPTIONS

# Status words in the order tables list them; a word psgd adds later is listed after them (see
# outcome_counts). `invalid`: the run refused its configuration (exit 2, e.g. more threads than
# hardware threads under compact placement); `crashed`: a signal, a timeout or an unexpected
# exit. Neither has metrics.
STATUSES = ("converged", "not_converged", "diverged", "invalid", "crashed")
UNFINISHED = psgd_results.UNFINISHED


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
    style.setdefault("marker", "o")
    (line,) = ax.plot(px, med, label=label, **style)
    ax.fill_between(px, lo, hi, alpha=0.2, color=line.get_color(), linewidth=0)
    return line


# One colour-blind-safe palette for every figure: Okabe and Ito's eight colours ("Color Universal
# Design", 2008), then Paul Tol's "muted" scheme where more methods need a colour of their own
# (Tol, "Colour Schemes", SRON/EPS/TN/09-002). A method has the same colour in every figure,
# schemes, hybrid and averaging included; variants of one method (os lock, test-before-cas) get a
# neighbouring hue and their own marker, so colour is never the only cue. Keep this a plain dict
# (one line per method): a new method is one new line. A name not listed takes the colour of
# its longest listed prefix ("nonblocking K=8 mean" -> nonblocking), else UNKNOWN_COLOR.
METHOD_COLORS = {
    "mutex": "#0072B2",  # Okabe-Ito blue
    "mutex (os lock)": "#56B4E9",  # Okabe-Ito sky blue
    "rwlock": "#009E73",  # Okabe-Ito bluish green
    "rwlock (os lock)": "#44AA99",  # Tol teal
    "hogwild": "#D55E00",  # Okabe-Ito vermillion
    "hogwild-atomic": "#DDCC77",  # Tol sand (rose would sit too close to leashed)
    "leashed": "#CC79A7",  # Okabe-Ito reddish purple
    "leashed (test-before-cas)": "#882255",  # Tol wine
    "sync": "#000000",  # Okabe-Ito black
    "seq": "#777777",
    "local-sgd": "#E69F00",  # Okabe-Ito orange
    "async-exchange": "#332288",  # Tol indigo
    "nonblocking": "#999933",  # Tol olive
    "param-server sync": "#AA4499",  # Tol purple
    "param-server async": "#88CCEE",  # Tol cyan
    "hybrid": "#117733",  # Tol green
}
UNKNOWN_COLOR = "#BBBBBB"

# The marker of a method, the second cue beside its colour (same lookup as the colour).
METHOD_MARKERS = {
    "mutex": "o",
    "mutex (os lock)": "s",
    "rwlock": "^",
    "rwlock (os lock)": "v",
    "hogwild": "D",
    "hogwild-atomic": "d",
    "leashed": "P",
    "leashed (test-before-cas)": "X",
    "sync": "*",
    "seq": ".",
    "local-sgd": "o",
    "async-exchange": "s",
    "nonblocking": "^",
    "param-server sync": "v",
    "param-server async": "D",
    "hybrid": "P",
}


def _lookup(table, name, default):
    """table[name], or the entry of name's longest listed prefix, or default."""
    if name in table:
        return table[name]
    prefixes = [k for k in table if name.startswith(k + " ")]
    return table[max(prefixes, key=len)] if prefixes else default


def method(row):
    """The method of an index row (psgd_results.method_name)."""
    return psgd_results.method_name(row)


def method_color(name):
    return _lookup(METHOD_COLORS, name, UNKNOWN_COLOR)


def method_marker(name):
    return _lookup(METHOD_MARKERS, name, "o")


def method_style(name):
    """The colour and marker of a method, as plot() keywords."""
    return dict(color=method_color(name), marker=method_marker(name))


def methods_of(rows):
    """The methods of rows in METHOD_COLORS order (unknown ones last, by name)."""
    names = {method(r) for r in rows}
    order = list(METHOD_COLORS)
    return sorted(names, key=lambda m: (order.index(m) if m in order else len(order), m))


def outcome_counts(rows):
    """{status: number of rows}: STATUSES (zeros included), then any other word that occurs."""
    words = list(STATUSES) + sorted({r.get("status", "") for r in rows} - set(STATUSES))
    return OrderedDict((s, sum(1 for r in rows if r.get("status") == s)) for s in words)


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
    shown = [
        f"{n} {s}" + (f" ({STATUS_MEANING[s]})" if s in STATUS_MEANING else "")
        for s, n in counts.items()
        if n or s in STATUSES
    ]
    return f"{len(rows)} runs: " + ", ".join(shown)


def leave_headroom(ax, factor):
    """Sets y from 0 to `factor` times the autoscaled top: on a symlog axis autoscaling puts the
    highest marker on the frame, half hidden."""
    ax.set_ylim(bottom=0, top=ax.get_ylim()[1] * factor)


def oversubscribed_text(rows):
    """'; k of N runs oversubscribed (more threads than hardware threads)' for a caption whose
    figure has no thread axis to shade, or '' when no run was."""
    over = sum(1 for r in rows if is_oversubscribed(r))
    if not over:
        return ""
    return f"; {over} of {len(rows)} runs oversubscribed (more threads than hardware threads)"


def reached_text(rows, column, label):
    """'a/N runs reached epsilon target 50%': the count of rows with a time in column."""
    reached = sum(1 for r in rows if number(r.get(column)) is not None)
    return f"{reached}/{len(rows)} runs reached epsilon target {label}"


def note_unfinished(ax, rows):
    """Writes in the panel how many of its runs are invalid, crashed or stopped (left out of it)."""
    counts = outcome_counts(rows)
    missing = [f"{counts[s]} {s}" for s in UNFINISHED if counts.get(s, 0)]
    if missing:
        ax.text(
            0.99, 0.01, "left out: " + ", ".join(missing), transform=ax.transAxes, fontsize=SMALL,
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


def threads_label(threads, rows):
    """'4 threads', with ' (oversubscribed)' when any of rows at that count was."""
    over = any(is_oversubscribed(r) for r in rows if r.get("threads") == threads)
    name = f"{threads} thread{'' if threads == '1' else 's'}"
    return name + (" (oversubscribed)" if over else "")


def mark_oversubscribed(ax, xs, ys, color="black"):
    """Rings the points (xs, ys) of oversubscribed runs (more workers than hardware threads, so
    workers share cores and timings include preemption); label once per axes for the legend."""
    if not xs:
        return
    labelled = any(h.get_label() == "oversubscribed" for h in ax.collections)
    ax.scatter(
        xs, ys, s=110, facecolors="none", edgecolors=color, linewidths=1.2, zorder=4,
        label=None if labelled else "oversubscribed",
    )


def pooled_counts(frame):
    """(counts by k, overflow count) of histogram rows of psgd_results.histograms added up."""
    exact = frame[~frame["overflow"]]
    counts = exact.groupby("k")["count"].sum()
    if len(counts):
        counts = counts.reindex(range(int(counts.index.max()) + 1), fill_value=0)
    return counts, int(frame.loc[frame["overflow"], "count"].sum())


def histogram_quantile(counts, overflow, top, q):
    """The q-quantile of pooled counts (k = position); one in the overflow bin is `top`."""
    total = int(counts.sum()) + overflow
    seen = 0
    for k, n in enumerate(counts):
        seen += n
        if seen >= q * total:
            return k
    return top


def box_stats(frame, top=0):
    """matplotlib bxp statistics of histogram rows pooled (box 25-75th percentile, whiskers
    5-95th, a flier at the 99th, the mean), or None when they count nothing. `top`: the value of
    the overflow bin (the largest observed)."""
    counts, overflow = pooled_counts(frame)
    total = int(counts.sum()) + overflow
    if not total:
        return None
    q = {p: histogram_quantile(counts, overflow, top, p / 100) for p in (5, 25, 50, 75, 95, 99)}
    mean = float((counts * counts.index).sum() + overflow * top) / total
    return dict(med=q[50], q1=q[25], q3=q[75], whislo=q[5], whishi=q[95], mean=mean, fliers=[q[99]])


def draw_boxes(ax, stats, positions, color, widths=0.5):
    """Boxes from box_stats at positions, in a method's colour."""
    if stats:
        ax.bxp(
            stats, positions=positions, showmeans=True, widths=widths, patch_artist=True,
            boxprops=dict(facecolor=color, alpha=0.4), medianprops=dict(color="black"),
            meanprops=dict(marker="x", markeredgecolor="black"),
            flierprops=dict(marker="o", markersize=3, markerfacecolor=color),
        )


BOX_CAPTION = "box: 25-75th percentile, whiskers 5-95th, dot 99th, x mean (repetitions pooled)"


def checkpoint_spacing(sweep, row):
    """Seconds between the evaluated snapshots around the run's last snapshot (the resolution of
    a time-to-epsilon: it is the time of the first snapshot at or below the target, so the target
    was crossed within one spacing before it), or None without a series."""
    seconds = [p.get("seconds") for p in sweep.doc(row).get("series") or []]
    seconds = [s for s in seconds if s is not None]
    if len(seconds) < 2:
        return None
    return float(np.median(np.diff(seconds)))


def draw_resolution(ax, xs, medians, spacings, color):
    """Draws, below each median time-to-epsilon, the checkpoint spacing as a thin bar: two
    medians whose difference is within it are not resolved by the checkpoints."""
    for x, m, dt in zip(xs, medians, spacings):
        if m is not None and dt:
            ax.plot([x, x], [max(m - dt, 0.0), m], color=color, linewidth=5, alpha=0.25,
                    solid_capstyle="butt")


def unresolved_pairs(values, spacing):
    """How many pairs of adjacent (sorted) medians lie within `spacing` of each other."""
    data = sorted(v for v in values if v is not None)
    return sum(1 for a, b in zip(data, data[1:]) if spacing and b - a < spacing)


def mark_oversubscribed_groups(ax, groups, value, color="black"):
    """mark_oversubscribed at the median of value(row) of each group of rows (a dict keyed by
    the x value's text, as group() returns) whose runs were oversubscribed."""
    xs, ys = [], []
    for key, rows in groups.items():
        if any(is_oversubscribed(r) for r in rows):
            median = median_iqr([value(r) for r in rows])[0]
            if median is not None:
                xs.append(number(key[0]))
                ys.append(median)
    mark_oversubscribed(ax, xs, ys, color)


# What a run's outcome means for one epsilon target, in the order figures list them; robust to
# the status words psgd uses (only invalid, crashed and diverged are read from them).
OUTCOMES = ("reached", "not reached", "diverged", "invalid", "crashed")


def outcome(row, column):
    """The OUTCOMES entry of an index row for the time-to-epsilon column `column`."""
    status = row.get("status", "")
    if status == "stopped":
        # SIGINT or SIGTERM reached the run (exit 130/143): a signal ended it, as for a crash, and
        # its metrics cover part of its budget only.
        return "crashed"
    if status in UNFINISHED:
        return status
    if status == "diverged" or row.get("stop_reason") == "diverged":
        return "diverged"
    return "reached" if number(row.get(column)) is not None else "not reached"


def thread_color(threads, all_threads):
    """The colour of a thread count among all_threads (texts): a sequential scale, dark to
    light as threads grow, so a line per thread count is never mistaken for a method colour."""
    ordered = sorted(set(all_threads), key=sort_key)
    i = ordered.index(threads) if threads in ordered else 0
    return plt.get_cmap("plasma")(0.05 + 0.75 * i / max(1, len(ordered) - 1))
