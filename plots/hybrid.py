#!/usr/bin/python3
"""The smooth-switch hybrid against pure asynchronous and pure synchronous parameter servers
within a fixed time budget, with injected communication delay.

Reads results/<sweep>/ of experiments/hybrid.json. Left: test accuracy over wall-clock time, the
median over repetitions with the interquartile band per setting; middle: the median final test
accuracy reached in the budget per setting (K0, T, shape) with its IQR, as a dot plot; right: the
median final test loss. Colour: the method (param-server sync / async, hybrid); the hybrid's
settings differ by marker and line style. Prints the medians as CSV on stdout. Writes
<out>/hybrid.png, .pdf and .caption.md.
"""

import os
import sys

# Run as a file (plots/NAME.py) rather than as a module (python3 -m plots.NAME): the package
# `plots` is then imported from the folder above this one.
if not __package__:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from plots.missing_modules import exit_if_missing  # noqa: E402

exit_if_missing("matplotlib", "numpy", "pandas")

import pandas as pd  # noqa: E402

from plots import common  # noqa: E402
from plots.drawing import curves  # noqa: E402

MARKERS = ("P", "X", "h", "p", "<", ">")
LINES = ("-", "--", ":", "-.")


def setting_of(doc):
    """async / sync parameter server, or the hybrid's switch and shape."""
    config = doc.get("config", {})
    if config.get("algo") == "param-server":
        return f"param-server {config.get('ps-mode')}"
    return f"hybrid K0,T={config.get('switch')} {config.get('switch-shape')}"


def last(doc, key):
    series = doc.get("series", [])
    return series[-1].get(key) if series else None


def main():
    args = common.parse_args(__doc__.splitlines()[0], "hybrid")
    sweep = common.Sweep(args.results)
    sweep.require_separated("plots/hybrid.py", "method", "ps-mode", "switch", "switch-shape")
    finished = [r for r in sweep.rows if r["status"] not in common.UNFINISHED]
    settings = sorted({setting_of(sweep.doc(r)) for r in finished},
                      key=lambda s: (not s.startswith("param-server"), s))
    # One colour per method (the palette's param-server sync / async and hybrid); the hybrid's
    # settings share its colour and differ by marker and line style.
    hybrids = [s for s in settings if s.startswith("hybrid")]
    style = {}
    for s in settings:
        name = s if s.startswith("param-server") else "hybrid"
        k = hybrids.index(s) if s in hybrids else 0
        style[s] = dict(color=common.method_color(name),
                        marker=MARKERS[k % len(MARKERS)] if s in hybrids else
                        common.method_marker(name),
                        linestyle=LINES[k % len(LINES)] if s in hybrids else "-")
    fig, axes = common.figure(1, 3, width=4.2, height=3.4)
    curve_ax, acc_ax, loss_ax = axes[0]
    for s in settings:
        docs = [sweep.doc(r) for r in finished if setting_of(sweep.doc(r)) == s]
        frames = [pd.DataFrame(d.get("series", []), columns=["seconds", "test_accuracy"])
                  for d in docs]
        curves.median_curve(curve_ax, frames, "test_accuracy", color=style[s]["color"],
                            linestyle=style[s]["linestyle"])
    curve_ax.set_xlabel("wall-clock training time (s)")
    curve_ax.set_ylabel("test accuracy")
    curve_ax.set_title("test accuracy over time")
    curve_ax.grid(alpha=0.3)
    common.note_unfinished(curve_ax, sweep.rows)
    print("setting,runs,median_final_test_accuracy,median_final_test_loss,median_updates")
    for ax, key, label in ((acc_ax, "test_accuracy", "final test accuracy in the budget"),
                           (loss_ax, "test_loss", "final test loss in the budget")):
        for y, s in enumerate(settings):
            docs = [sweep.doc(r) for r in finished if setting_of(sweep.doc(r)) == s]
            median, q25, q75 = common.median_iqr([last(d, key) for d in docs])
            if median is not None:
                ax.errorbar([median], [y], xerr=[[median - q25], [q75 - median]], capsize=2,
                            markersize=6, color=style[s]["color"], marker=style[s]["marker"],
                            linestyle="none", label=s)
            if key == "test_accuracy":
                loss = common.median_iqr([last(d, "test_loss") for d in docs])[0]
                updates = common.median_iqr([d["updates"]["applied"] for d in docs])[0]
                print(f"{s},{len(docs)},{median},{loss},{updates}")
        ax.set_yticks(range(len(settings)), [s.replace("hybrid ", "") for s in settings],
                      fontsize=common.SMALL)
        ax.set_ylim(-0.5, len(settings) - 0.5)
        ax.invert_yaxis()
        ax.set_xlabel(label)
        ax.set_title(label.replace(" in the budget", ""))
        ax.grid(alpha=0.3, axis="x")
    loss_ax.set_yticklabels([])  # the same rows as the accuracy panel's
    for s in settings:  # legend entries with the curve's line style and the dots' marker
        curve_ax.plot([], [], label=s, **style[s])
    curve_ax.legend()
    for ax in (acc_ax, loss_ax):  # the dots' entries are the curves' (one legend)
        ax.get_legend() and ax.get_legend().remove()
    budget = sweep.base().get("time-limit", "?")
    caption = sweep.caption(
        f"time budget {budget} s, delay {sweep.base().get('delay', 'none')}; left: median over "
        "repetitions with the interquartile band; middle and right: medians with IQR bars (a "
        "dot plot: the differences are a few thousandths); colour: method (param-server sync, "
        "param-server async, hybrid), the hybrid's settings K0,T and shape by marker and line "
        "style; " + common.outcome_text(sweep.rows) + common.oversubscribed_text(sweep.rows))
    common.save(fig, args.out, "hybrid", caption,
                "Within a fixed time budget, does the smooth switch from asynchronous to "
                "synchronous beat both pure schemes?")


if __name__ == "__main__":
    main()
