"""The loss and accuracy curves of one point's runs as inline SVG (matplotlib), for the report.

One figure per point: train and test loss over wall-clock seconds on the left, test accuracy on
the right, one colour per repetition (solid train loss, dashed test loss). Text stays text in
the SVG (svg.fonttype none), which keeps a figure near 20 kB instead of 60 kB of glyph paths.
"""

import io
import math
import re

from plots.missing_modules import exit_if_missing

exit_if_missing("matplotlib", code=3)  # `psgd report`'s code for a missing package

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)

# Okabe and Ito's colour-blind-safe palette, for repetitions (not methods: one point is one
# method, so these colours mean only "another repetition").
REPETITION_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00",
                     "#F0E442", "#000000")

DIGITS = re.compile(r"([0-9]+[.][0-9]{2})[0-9]+")  # a coordinate to 1/100 pt
SECONDS, TRAIN_LOSS, TEST_LOSS, TEST_ACCURACY = 0, 3, 4, 5  # psgd_results.SERIES_FIELDS order


def _finite(xs, ys):
    pairs = [(x, y) for x, y in zip(xs, ys)
             if x is not None and y is not None and math.isfinite(x) and math.isfinite(y)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def point_svg(runs, salt):
    """The SVG text (no XML prologue) of one point's runs [(run_id, repetition, status, series)],
    or None when no run has a series. `salt` makes the SVG's element ids unique in the page."""
    drawn = [r for r in runs if r[3]]
    if not drawn:
        return None
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt, "font.size": 8,
                         "axes.titlesize": 9, "path.simplify": True}):
        fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(7.0, 2.3))
        fig.subplots_adjust(left=0.08, right=0.88, bottom=0.2, top=0.88, wspace=0.28)
        losses = []
        for i, (run_id, repetition, status, series) in enumerate(drawn):
            color = REPETITION_COLORS[i % len(REPETITION_COLORS)]
            seconds = [s[SECONDS] for s in series]
            marker = "." if len(series) <= 30 else None  # dots on long series only blot
            label = f"r{repetition}" if repetition != "" else f"run {i + 1}"  # status: summary
            for column, style, name in ((TRAIN_LOSS, "-", "train"), (TEST_LOSS, "--", "test")):
                xs, ys = _finite(seconds, [s[column] for s in series])
                losses += ys
                if xs:
                    loss_ax.plot(xs, ys, style, color=color, lw=1.2, marker=marker, ms=3,
                                 label=f"{label}, {name}")
            xs, ys = _finite(seconds, [s[TEST_ACCURACY] for s in series])
            if xs:
                acc_ax.plot(xs, ys, "-", color=color, lw=1.2, marker=marker, ms=3, label=label)
        loss_ax.set(title="loss (solid train, dashed test)", xlabel="seconds", ylabel="loss")
        acc_ax.set(title="test accuracy", xlabel="seconds", ylabel="accuracy")
        if losses and min(losses) > 0:  # a diverged run's loss spans decades
            loss_ax.set_yscale("log")
        for ax in (loss_ax, acc_ax):
            ax.grid(alpha=0.3)
        acc_ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False, fontsize=7)
        out = io.StringIO()
        fig.savefig(out, format="svg", metadata={"Date": None})
        plt.close(fig)
    return compact(out.getvalue())


def compact(svg):
    """matplotlib's SVG without what a page does not need, about half the size: the XML prologue
    and RDF metadata, the font fallback list on every text (the page's sans-serif serves),
    coordinates beyond 1/100 pt and the indentation."""
    svg = re.sub(r"^.*?(?=<svg)", "", svg, count=1, flags=re.S)
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, count=1, flags=re.S)
    svg = re.sub(r"font: ([0-9.]+px) [^;\"]*", r"font: \1 sans-serif", svg)
    svg = re.sub(r'\b(d|x|y|transform)="([^"]*)"',
                 lambda m: m[1] + '="' + DIGITS.sub(r"\1", m[2]) + '"', svg)
    return re.sub(r"\s*\n\s*", "\n", svg)
