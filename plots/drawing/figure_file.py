"""A figure's files: one legend outside the panels, at most a one-line subtitle in the image,
the question and caption in a FIG.caption.md side file beside FIG.png and the vector FIG.pdf.

The figure scripts use these through common (common.save, common.figure, ...).
"""

import os
import textwrap
from collections import OrderedDict

from plots.missing_modules import exit_if_missing

exit_if_missing("matplotlib")

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # files only: no display is needed or wanted
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

SMALL = 8  # the smallest font any figure uses (legends, cell counts, notes)


def figure(nrows, ncols, width=4.2, height=3.3, **share):
    """A grid of panels of width x height inches each; share: sharex / sharey as in
    plt.subplots, for panels that answer one question on one scale."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows + 0.2),
                             squeeze=False, **share)
    return fig, axes


def suptitle(fig, title):
    """A short subtitle above the panels (one line; the question and the caption go to the
    FIG.caption.md side file, where a paper's caption is written). Returns the number of lines."""
    fig.suptitle(title, fontsize=10, y=1.0 - 0.05 / fig.get_figheight(), va="top")
    return 1


# The gid of the text that says why a panel has no data (say_empty); the figure test
# (plots/test/figures_test.py) fails on an empty panel without one.
EMPTY_GID = "why-empty"


def say_empty(ax, reason):
    """Writes in an empty panel why it has no data (e.g. 'no run reached 25%')."""
    ax.text(0.5, 0.5, "\n".join(textwrap.wrap(reason, 36)), transform=ax.transAxes, ha="center",
            va="center", fontsize=SMALL, color="dimgrey", gid=EMPTY_GID)


def legend_outside(fig, columns=None):
    """Replaces the legends of the panels by one legend under them, outside the data: the
    entries of every panel that called ax.legend(), each label once. Grows the figure by the
    legend's height, so the panels keep their size. Returns the legend's height in figure
    units (0 when there is none)."""
    handles = OrderedDict()
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None:
            continue
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
        legend.remove()
    if not handles:
        return 0.0
    width = fig.get_figwidth()
    longest = max(len(label) for label in handles)
    fits = max(1, int(width / (0.45 + 0.075 * longest)))  # SMALL text: ~13 characters per inch
    ncol = columns or min(len(handles), fits)
    legend = fig.legend(list(handles.values()), list(handles), loc="lower center",
                        bbox_to_anchor=(0.5, 0.0), ncol=ncol, fontsize=SMALL, frameon=False)
    fig.canvas.draw()
    inches = legend.get_window_extent().height / fig.dpi + 0.05
    fig.set_figheight(fig.get_figheight() + inches)
    return inches / fig.get_figheight()


def save(fig, out, name, caption, title=None, subtitle=None):
    """Writes out/name.png, out/name.pdf and out/name.caption.md: the panels' legends become one
    legend under them (legend_outside), the image carries at most a one-line `subtitle`, and the
    question (`title`) with the caption goes to the side file."""
    bottom = legend_outside(fig)
    top = 1.0
    if subtitle:
        suptitle(fig, subtitle)
        top = 1.0 - 0.3 / fig.get_figheight()
    fig.tight_layout(rect=(0, bottom, 1, top))
    return write(fig, out, name, caption, title)


def caption_markdown(caption, title=None):
    """The text of a FIG.caption.md: the question in bold, then the caption."""
    return (f"**{title}**\n\n" if title else "") + caption.strip() + "\n"


def write(fig, out, name, caption=None, title=None):
    """Writes out/name.png, out/name.pdf (vector) and, given a caption, out/name.caption.md; closes
    the figure; prints and returns the paths. FIGURE_HOOK, when set (the figure test), sees the
    figure before it is written."""
    if FIGURE_HOOK is not None:
        FIGURE_HOOK(fig, name)
    os.makedirs(out, exist_ok=True)
    paths = [os.path.join(out, f"{name}.{ext}") for ext in ("png", "pdf")]
    for path in paths:
        fig.savefig(path, dpi=150, metadata=DETERMINISTIC.get(path[-3:]))
    plt.close(fig)
    if caption is not None:
        paths.append(os.path.join(out, f"{name}.caption.md"))
        with open(paths[-1], "w", encoding="utf-8") as f:
            f.write(caption_markdown(caption, title))
    for path in paths:
        print(path)
    return paths


# No creation date or software version in the files, so redrawing unchanged results leaves the
# committed figures unchanged (git sees no difference).
DETERMINISTIC = {"pdf": {"CreationDate": None, "Producer": None}, "png": {"Software": None}}
FIGURE_HOOK = None
