#!/usr/bin/python3
"""Batch size x step size heat maps per thread count: median time-to-epsilon and outcome counts.

Reads results/<sweep>/ of experiments/hyperparams.json (study item ii: hyperparameters x
parallelism). A cell where some run reached epsilon is coloured by the median time to epsilon of
those runs, on a scale from the smallest to the largest cell median; a cell where none did shows
why, by its most common outcome: not reached (light grey), diverged (red, hatched), invalid
(white, hatched: the run refused its configuration), crashed (black). A cell with any diverged,
invalid or crashed run is hatched with that outcome's pattern. Every cell lists its runs'
outcomes: R reached, N not reached, D diverged, I invalid, X crashed. One row per method, one
column per thread count. Writes <out>/hyperparams.png, .pdf, .caption.md, and the counts as
<out>/hyperparams_counts.csv.
"""

import csv
import os
import sys

# Run as a file (plots/NAME.py) rather than as a module (python3 -m plots.NAME): the package
# `plots` is then imported from the folder above this one.
if not __package__:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from plots.missing_modules import exit_if_missing  # noqa: E402

exit_if_missing("matplotlib", "numpy", "pandas")

import matplotlib.patches as mpatches  # noqa: E402

from plots import common  # noqa: E402

LETTERS = dict(zip(common.OUTCOMES, "RNDIX"))
# How a cell that no run reached epsilon in is drawn: (face colour, hatch).
NO_TIME = {
    "not reached": ("#d9d9d9", ""),
    "diverged": ("#f4a6a6", "xx"),
    "invalid": ("white", "//"),
    "crashed": ("#303030", ".."),
}
CMAP = common.plt.get_cmap("viridis")


def cell_counts(runs, column):
    counts = {k: 0 for k in common.OUTCOMES}
    for r in runs:
        counts[common.outcome(r, column)] += 1
    return counts


def draw_cell(ax, si, bi, runs, median, counts, norm):
    """One cell: its colour (median time, or the most common failure), hatched when any run
    diverged, was invalid or crashed, and its outcome counts."""
    failures = [k for k in ("crashed", "invalid", "diverged", "not reached") if counts[k]]
    if median is not None:
        face, dark = CMAP(norm(median)), norm(median) < 0.6  # viridis is dark below
    elif runs:
        worst = max(failures, key=lambda k: counts[k])  # ties: the more severe, listed first
        face, dark = NO_TIME[worst][0], worst == "crashed"
    else:
        face, dark = "white", False
    hatch = next((NO_TIME[k][1] for k in failures if NO_TIME[k][1]), "")
    ax.add_patch(mpatches.Rectangle((si - 0.5, bi - 0.5), 1, 1, facecolor=face, hatch=hatch,
                                    edgecolor="grey" if hatch else "white", linewidth=0.5))
    text = " ".join(f"{LETTERS[k]}{n}" for k, n in counts.items() if n) if runs else "no runs"
    ax.text(si, bi, text.replace(" ", "\n", 1) if len(text) > 8 else text, ha="center",
            va="center", fontsize=common.SMALL, color="white" if dark else "black",
            bbox=dict(facecolor=face, edgecolor="none", pad=1.0) if hatch else None)


def panel(ax, cells, key, batches, steps, column, norm, table,
          row_label="batch size b (samples)"):
    """One method and thread count: a row per batch size (or per `batches`' values, e.g. step
    rules, named by row_label), a column per step size."""
    for bi, b in enumerate(batches):
        for si, s in enumerate(steps):
            runs = cells.get(key + (b, s), [])
            median = common.median_iqr([common.number(r[column]) for r in runs])[0]
            counts = cell_counts(runs, column)
            draw_cell(ax, si, bi, runs, median, counts, norm)
            statuses = common.outcome_counts(runs)
            table.append(list(key) + [b, s, len(runs), median] + list(counts.values())
                         + [statuses.get(k, 0) for k in common.STATUSES])
    ax.set_xlim(-0.5, len(steps) - 0.5)
    ax.set_ylim(-0.5, len(batches) - 0.5)
    ax.set_xticks(range(len(steps)), steps)
    ax.set_yticks(range(len(batches)), batches)
    ax.set_xlabel("step size eta")
    ax.set_ylabel(row_label)


def legend_and_bar(fig, norm, label, bottom, top):
    handles = [mpatches.Patch(facecolor=f, hatch=h, edgecolor="grey", label=k)
               for k, (f, h) in NO_TIME.items()]
    fig.legend(handles=handles, title="outcome",
               loc="upper left",
               bbox_to_anchor=(0.855, top), fontsize=common.SMALL, title_fontsize=common.SMALL)
    bar_axes = fig.add_axes((0.87, bottom, 0.02, (top - bottom) * 0.55))
    bar = fig.colorbar(common.plt.cm.ScalarMappable(norm=norm, cmap=CMAP), cax=bar_axes)
    bar.set_label(f"median time to {label} (s)\n(runs that reached it)")


def cells_caption(label):
    """What a cell's colour, letters and hatching mean (this figure's and step-rules.py's)."""
    return (f"colour: median time to {label} over the runs of a cell that reached it; cells: "
            "R reached / N not reached / D diverged / I invalid (refused) / X crashed runs; a "
            "cell no run reached it in has the colour of its most common outcome (legend); "
            "hatched: some run diverged, was invalid or crashed; ")


def lay_out_and_write(fig, norm, label, out, name, caption, title, left=0.1, wspace=0.4):
    """The outcome legend and the colour bar right of the panels, then the files."""
    # tight_layout cannot place a colour bar shared by all panels: lay out by hand.
    bottom = 0.45 / fig.get_figheight()
    top = 1.0 - 0.3 / fig.get_figheight()
    fig.subplots_adjust(left=left, right=0.82, bottom=bottom, top=top, wspace=wspace, hspace=0.5)
    legend_and_bar(fig, norm, label, bottom, top)
    common.write(fig, out, name, caption, title)


def write_counts(path, table, label, row_column="batch"):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(
            ["algo", "threads", row_column, "step", "runs", f"median_time_to_epsilon_{label}"]
            + [k.replace(" ", "_") for k in common.OUTCOMES]
            + ["status_" + s for s in common.STATUSES]
        )
        writer.writerows(table)
    print(path)


def main():
    args = common.parse_args(__doc__.splitlines()[0], "hyperparams")
    sweep = common.Sweep(args.results)
    label, column = sweep.epsilon_column(args.epsilon)
    algos = common.methods_of(sweep.rows)
    threads, batches, steps = (sweep.values(a) for a in ("threads", "batch", "step"))
    fig, axes = common.figure(len(algos), len(threads), width=4.4, height=3.6)
    cells = {}
    for r in sweep.rows:
        cells.setdefault((common.method(r), r["threads"], r["batch"], r["step"]), []).append(r)
    medians = [common.median_iqr([common.number(r[column]) for r in runs])[0]
               for runs in cells.values()]
    medians = [m for m in medians if m is not None] or [0.0, 1.0]
    norm = common.plt.Normalize(vmin=min(medians), vmax=max(max(medians), min(medians) + 1e-9))
    table = []
    for i, algo in enumerate(algos):
        for j, t in enumerate(threads):
            panel(axes[i][j], cells, (algo, t), batches, steps, column, norm, table)
            axes[i][j].set_title(f"{algo}, {common.threads_label(t, sweep.rows)}")
    sweep.require_separated("plots/hyperparams.py", "method", "threads", "batch", "step")
    settings = sweep.settings("model")
    title = (f"Which batch size x step size cells reach {label} of the initial loss, and how "
             "fast, per method and thread count?" + (f" ({settings})" if settings else ""))
    caption = sweep.caption(cells_caption(label) + common.outcome_text(sweep.rows))
    lay_out_and_write(fig, norm, label, args.out, "hyperparams", caption, title)
    write_counts(os.path.join(args.out, "hyperparams_counts.csv"), table, label)


if __name__ == "__main__":
    main()
