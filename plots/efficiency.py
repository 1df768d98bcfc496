#!/usr/bin/python3
"""Seconds per pass (hardware efficiency) against passes to a target (statistical), per study.

DimmWitted's split of time to accuracy (Zhang and Ré, "DimmWitted: A Study of Main-Memory
Statistical Analytics", VLDB 2014): time to a target = passes to it x seconds per pass, so a method
that wins shows whether it needs fewer passes (left) or makes each pass cheaper (lower). Reads
one or more sweep folders (--results, repeatable; by default every results/*-quick); each is one
study question and one panel. A point is the median over repetitions of one method at one thread
count (and one `replicas` value where the index has that column), labelled with its threads;
dashed grey lines are iso-time-to-target curves (passes x seconds per pass constant). The target
per panel: the tightest epsilon target that at least half of the finished runs reached. The
values come from psgd_results.efficiency (computed from the run documents, so older sweeps
have them). Writes <out>/efficiency.png, .pdf, .caption.md.
"""

import argparse
import glob
import math
import os
import sys

if not __package__:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from plots.missing_modules import exit_if_missing  # noqa: E402

exit_if_missing("matplotlib", "numpy", "pandas")

from plots import common  # noqa: E402
from plots import psgd_results  # noqa: E402

# Panels per row: four keep a panel's labels readable in a page-wide figure.
COLUMNS = 4


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", action="extend", nargs="+", default=None,
                        help="sweep folders, one panel each (default: every results/*-quick)")
    parser.add_argument("--out", default="figures", help="folder for the PNG and PDF")
    args = parser.parse_args()
    if not args.results:
        args.results = sorted(glob.glob(os.path.join("results", "*-quick")))
    if not args.results:
        raise SystemExit("no sweep folder: give --results DIR (run `psgd sweep` first)")
    return args


def point_keys(sweep, frame):
    """The columns a point stands for: method and threads, replicas where the sweep has that
    column, and every other axis of the sweep that varies (a point is never a median over a
    setting: the rule of require_separated)."""
    keys = ["method", "threads"]
    if "replicas" in frame.columns and frame["replicas"].notna().any():
        keys.append("replicas")
    for axis in sweep.axes:
        if axis in frame.columns and axis not in keys and axis not in ("algo", "seed"):
            if frame[axis].nunique(dropna=True) > 1:
                keys.append(axis)
    return keys


def points(sweep, label):
    """(key, median passes to the target, median seconds per pass) per method and threads of the
    runs that reached epsilon target `label`; and how many finished runs did not."""
    split = psgd_results.efficiency(sweep.folder, sweep.frame(), sweep.documents())
    split = split[(split["kind"] == "epsilon") & (split["target"] == label)]
    split = split[~split["status"].isin(psgd_results.UNFINISHED)]
    reached = split.dropna(subset=["passes_to_target", "seconds_per_pass"])
    reached = reached[(reached["passes_to_target"] > 0) & (reached["seconds_per_pass"] > 0)]
    keys = point_keys(sweep, reached)
    medians = reached.groupby(keys)[["passes_to_target", "seconds_per_pass"]].median()
    return [(k if isinstance(k, tuple) else (k,), row.passes_to_target, row.seconds_per_pass)
            for k, row in medians.iterrows()], keys, len(split) - len(reached)


def iso_time_lines(ax, pts):
    """Dashed lines of constant passes x seconds per pass (time to the target), at 1-2-5 steps
    spanning the points' times, each labelled at its right end."""
    times = [p * s for _, p, s in pts]
    xs = [p for _, p, _ in pts]
    lo, hi = min(times), max(times)
    x0, x1 = min(xs) / 1.6, max(xs) * 1.6
    steps = []
    for exponent in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1):
        steps += [m * 10.0 ** exponent for m in (1, 2, 5)]
    shown = [t for t in steps if lo / 2.5 <= t <= hi * 2.5]
    for t in shown:
        ax.plot([x0, x1], [t / x0, t / x1], linestyle="--", color="0.75", linewidth=0.8,
                zorder=0)
        ax.annotate(f"{t:g} s", (x1, t / x1), fontsize=7, color="0.5", ha="right", va="bottom")
    ax.set_xlim(x0, x1)


def draw_panel(ax, sweep):
    label, _ = sweep.epsilon_column()
    pts, keys, missed = points(sweep, label)
    ax.set_title(f"{sweep.name}: to {label} of the initial loss")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("passes to the target (statistical)")
    ax.set_ylabel("seconds per pass (hardware)")
    if not pts:
        common.say_empty(ax, f"no finished run reached {label}")
        return label, missed
    iso_time_lines(ax, pts)
    # One dotted line per method and setting, through its thread counts in order.
    lines = sorted({(k[0],) + tuple(k[2:]) for k, _, _ in pts}, key=str)
    for line in lines:
        mine = sorted(((k, p, s) for k, p, s in pts if (k[0],) + tuple(k[2:]) == line),
                      key=lambda e: e[0][1])
        ax.plot([p for _, p, _ in mine], [s for _, _, s in mine], linestyle=":", linewidth=0.8,
                label=line[0], **common.method_style(line[0]))
        for k, p, s in mine:
            rest = dict(zip(keys[2:], k[2:]))
            text = f"{int(k[1])}t" + "".join(
                f" {v}r" if name == "replicas" else f" {v}" for name, v in rest.items())
            ax.annotate(text, (p, s), textcoords="offset points", xytext=(4, 3), fontsize=7)
    ax.grid(alpha=0.3, which="both")
    return label, missed


def main():
    args = parse_args()
    sweeps = [common.Sweep(folder) for folder in args.results]
    rows = math.ceil(len(sweeps) / COLUMNS)
    cols = min(COLUMNS, len(sweeps))
    fig, axes = common.figure(rows, cols)
    notes = []
    for i, sweep in enumerate(sweeps):
        label, missed = draw_panel(axes[i // cols][i % cols], sweep)
        notes.append(f"{sweep.name} (to {label}; {missed} finished runs did not reach it): "
                     f"{sweep.fixed_text()}")
    for j in range(len(sweeps), rows * cols):
        axes[j // cols][j % cols].set_visible(False)
    caption = (
        sweeps[0].caption("points: medians over repetitions, labelled with threads (t) and, "
                          "where the sweep has them, replicas (r); dashed: constant time to the "
                          "target (passes x seconds per pass); a pass is the series' epoch")
        + " Per panel: " + "; ".join(notes) + "."
    )
    title = ("Does each method win by needing fewer passes (statistical efficiency) or by "
             "making each pass cheaper (hardware efficiency)?")
    common.save(fig, args.out, "efficiency", caption, title)


if __name__ == "__main__":
    main()
