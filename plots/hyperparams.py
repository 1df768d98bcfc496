#!/usr/bin/python3
"""Batch size x step size heat maps per thread count: median time-to-epsilon and outcome counts.

Reads results/<sweep>/ of experiments/hyperparams.json (study item ii: hyperparameters x
parallelism). Each cell is coloured by the median time to epsilon over the runs that reached it
(grey: none did) and lists the outcomes of all its runs: C converged, N not converged,
D diverged, I invalid (the run refused its configuration), X crashed. One row per method (the
algorithm, and the OS lock where it is one), one column per thread count. Writes
<out>/hyperparams.png and .pdf, and the counts as <out>/hyperparams_counts.csv.
"""

import csv
import os

import numpy as np

import common

LETTERS = {"converged": "C", "not_converged": "N", "diverged": "D", "invalid": "I", "crashed": "X"}


def main():
    args = common.parse_args(__doc__.splitlines()[0], "hyperparams")
    sweep = common.Sweep(args.results)
    label, column = sweep.epsilon_column(args.epsilon)
    algos = common.methods_of(sweep.rows)
    threads = sweep.values("threads")
    batches = sweep.values("batch")
    steps = sweep.values("step")
    fig, axes = common.figure(len(algos), len(threads), width=4.4, height=3.6)
    cells = {}
    for r in sweep.rows:
        cells.setdefault((common.method(r), r["threads"], r["batch"], r["step"]), []).append(r)
    finite = [common.number(r[column]) for r in sweep.rows]
    finite = [v for v in finite if v is not None]
    vmax = max(finite) if finite else 1.0
    table = []
    image = None
    for i, algo in enumerate(algos):
        for j, t in enumerate(threads):
            ax = axes[i][j]
            grid = np.full((len(batches), len(steps)), np.nan)
            for bi, b in enumerate(batches):
                for si, s in enumerate(steps):
                    runs = cells.get((algo, t, b, s), [])
                    median, _, _ = common.median_iqr([common.number(r[column]) for r in runs])
                    if median is not None:
                        grid[bi, si] = median
                    counts = {k: sum(1 for r in runs if r["status"] == k) for k in LETTERS}
                    table.append([algo, t, b, s, len(runs), median] + [counts[k] for k in LETTERS])
                    text = "\n".join(
                        " ".join(f"{LETTERS[k]}{counts[k]}" for k in pair)
                        for pair in (("converged", "not_converged"), ("diverged", "invalid", "crashed"))
                    )
                    dark = median is not None and median < 0.6 * vmax  # viridis is dark below
                    ax.text(
                        si, bi, text if runs else "-", ha="center", va="center", fontsize=6,
                        color="white" if dark else "black",
                    )
            cmap = common.plt.get_cmap("viridis").copy()
            cmap.set_bad("lightgrey")
            image = ax.imshow(
                np.ma.masked_invalid(grid), cmap=cmap, vmin=0, vmax=vmax, origin="lower",
                aspect="auto",
            )
            ax.set_xticks(range(len(steps)), steps)
            ax.set_yticks(range(len(batches)), batches)
            ax.set_xlabel("step size eta")
            ax.set_ylabel("batch size b (samples)")
            ax.set_title(f"{algo}, {t} thread(s)")
    caption = sweep.caption(
        f"colour: median over the runs that reached epsilon target {label}; grey: none reached "
        "it; C/N/D/I/X: converged (all epsilon targets reached) / not_converged (not all reached) "
        "/ diverged / invalid (refused) / crashed runs"
    )
    # tight_layout cannot place a colour bar shared by all panels: lay out by hand.
    settings = sweep.settings("model")
    lines = common.suptitle(
        fig,
        "Which batch size x step size cells converge, and how fast, per method and thread count?"
        + (f" ({settings})" if settings else ""),
    )
    height = fig.get_figheight()
    bottom = min(0.2, 1.2 / height)  # room for the caption and the x labels
    top = 1.0 - (0.45 + 0.2 * lines) / height
    fig.subplots_adjust(left=0.1, right=0.84, bottom=bottom, top=top, wspace=0.4, hspace=0.5)
    if image is not None:
        bar = fig.colorbar(image, cax=fig.add_axes((0.87, bottom, 0.02, top - bottom)))
        bar.set_label(f"median time to epsilon {label} (s)")
    fig.text(0.01, 0.005, caption, fontsize=7, ha="left", va="bottom", wrap=True)
    os.makedirs(args.out, exist_ok=True)
    for ext in ("png", "pdf"):
        path = os.path.join(args.out, f"hyperparams.{ext}")
        fig.savefig(path, dpi=150)
        print(path)
    common.plt.close(fig)
    counts_path = os.path.join(args.out, "hyperparams_counts.csv")
    with open(counts_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(
            ["algo", "threads", "batch", "step", "runs", f"median_time_to_epsilon_{label}"]
            + list(LETTERS)
        )
        writer.writerows(table)
    print(counts_path)


if __name__ == "__main__":
    main()
