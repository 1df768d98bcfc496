#!/usr/bin/python3
"""Test accuracy over wall-clock time and time-to-accuracy of synchronous, asynchronous,
non-blocking and hybrid SGD, without and with one straggler.

Reads results/<sweep>/ of experiments/schemes.json. One column per straggler setting (the
`slowdown` option: none, 1:2, 1:4): top, every finished run's evaluated test accuracy over time
(one line per run, one colour per method); bottom, the median time to reach the target accuracy
(--accuracy; by default the study's 85%, or where no run reaches that, as at the 2-core quick
scale, the highest of 80%, 75% and 70% that some run reaches, said in the axis label) per method,
from each run's snapshot series (first snapshot at or above the target; runs that never reach it
are counted in the bar's label), and the median final accuracy. Prints the table it draws as CSV
on stdout. Writes <out>/schemes.png, .pdf, .caption.md.
"""

import argparse
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


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=os.path.join("results", "schemes-quick"))
    parser.add_argument("--out", default="figures")
    parser.add_argument("--accuracy", type=float, default=None,
                        help="target test accuracy for time-to-accuracy (default: 0.85, or the "
                             "highest of 0.80, 0.75, 0.70 some run reaches if none reaches 0.85)")
    return parser.parse_args()


def time_to_accuracy(doc, target):
    """Seconds until the first evaluated snapshot at or above `target`, or None."""
    for point in doc.get("series", []):
        accuracy = point.get("test_accuracy")
        if accuracy is not None and accuracy >= target:
            return point["seconds"]
    return None


# The study's target first, then the lower ones the quick scale's single epoch can reach.
DEFAULT_TARGETS = (0.85, 0.80, 0.75, 0.70)


def default_target(docs):
    """The first of DEFAULT_TARGETS that some run reaches (the last one if none does)."""
    for target in DEFAULT_TARGETS:
        if any(time_to_accuracy(d, target) is not None for d in docs):
            return target
    return DEFAULT_TARGETS[-1]


def slowdown_order(value):
    """No straggler first, then by slowdown factor ("1:2" before "1:4")."""
    if value in ("", "none"):
        return (0, 0.0)
    try:
        return (1, float(value.split(":")[-1]))
    except ValueError:
        return (2, 0.0)


def scheme_of(doc):
    """The method with the options that make it another one (K, combine rule, switch)."""
    config = doc.get("config", {})
    name = config.get("algo", "?")
    if name == "nonblocking":
        name += f" K={config.get('mini-batches')} {config.get('combine')}"
    elif name == "hybrid":
        name += f" {config.get('switch')} {config.get('switch-shape', '')}".rstrip()
    elif name == "param-server":
        name += f" {config.get('ps-mode')}"
    return name


def final_accuracy(doc):
    series = doc.get("series", [])
    return series[-1].get("test_accuracy") if series else None


def dot_panel(ax, slowdowns, schemes, values, ylabel):
    """values[(slowdown, scheme)]: a list of numbers per run (None = not reached); one dot per
    scheme (its colour and marker, side by side) and straggler setting (x) with the IQR bar."""
    width = 0.8 / max(1, len(schemes))
    for k, scheme in enumerate(schemes):
        xs, med, lo, hi = [], [], [], []
        for x, slow in enumerate(slowdowns):
            stats = common.median_iqr([v for v in values.get((slow, scheme), []) if v is not None])
            if stats[0] is None:
                continue
            xs.append(x + (k - (len(schemes) - 1) / 2) * width)
            med.append(stats[0])
            lo.append(stats[0] - stats[1])
            hi.append(stats[2] - stats[0])
        if xs:
            ax.errorbar(xs, med, yerr=[lo, hi], linestyle="none", capsize=2, markersize=6,
                        label=scheme, **common.method_style(scheme))
    ax.set_xticks(range(len(slowdowns)), [f"straggler {s or 'none'}" for s in slowdowns])
    ax.set_xlim(-0.5, len(slowdowns) - 0.5)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, axis="y")


def main():
    args = parse_args()
    sweep = common.Sweep(args.results)
    sweep.require_separated("plots/schemes.py", "method", "mini-batches", "combine",
                            "switch", "switch-shape", "ps-mode", "slowdown", "threads")
    finished = [r for r in sweep.rows if r["status"] not in common.UNFINISHED]
    slowdowns = sweep.values("slowdown") if "slowdown" in sweep.columns else [""]
    slowdowns = sorted(slowdowns, key=slowdown_order)
    names = {scheme_of(sweep.doc(r)) for r in finished}
    order = list(common.METHOD_COLORS)
    schemes = sorted(names, key=lambda n: (next((i for i, m in enumerate(order)
                                                  if n == m or n.startswith(m + " ")),
                                                 len(order)), n))
    target = args.accuracy
    if target is None:
        target = default_target([sweep.doc(r) for r in finished])
    fig, axes = common.plt.subplot_mosaic(
        [[f"c{j}" for j in range(len(slowdowns)) for _ in range(2)],
         ["time"] * len(slowdowns) + ["final"] * len(slowdowns)],
        figsize=(4.0 * len(slowdowns), 6.8))
    curve_axes = [axes[f"c{j}"] for j in range(len(slowdowns))]
    times, finals, reached = {}, {}, {}
    print("slowdown,method,runs,reached,median_time_to_accuracy_s,median_final_accuracy")
    for j, slow in enumerate(slowdowns):
        ax = curve_axes[j]
        rows = [r for r in finished if r.get("slowdown", "") == slow]
        for scheme in schemes:
            docs = [sweep.doc(r) for r in rows if scheme_of(sweep.doc(r)) == scheme]
            if not docs:
                continue
            frames = [pd.DataFrame(d.get("series", []), columns=["seconds", "test_accuracy"])
                      for d in docs]
            curves.median_curve(ax, frames, "test_accuracy", **common.method_style(scheme))
            times[(slow, scheme)] = [time_to_accuracy(d, target) for d in docs]
            finals[(slow, scheme)] = [final_accuracy(d) for d in docs]
            got = [t for t in times[(slow, scheme)] if t is not None]
            reached[(slow, scheme)] = (len(got), len(docs))
            median_t = common.median_iqr(got)[0]
            median_a = common.median_iqr(finals[(slow, scheme)])[0]
            print(f"{slow or 'none'},{scheme},{len(docs)},{len(got)},"
                  f"{'' if median_t is None else f'{median_t:.3f}'},"
                  f"{'' if median_a is None else f'{median_a:.4f}'}")
        ax.axhline(target, color="dimgrey", linewidth=0.6, linestyle=":")
        ax.set_title(f"straggler: {slow or 'none'}")
        ax.set_xlabel("wall-clock training time (s)")
        ax.set_ylabel("test accuracy")
        ax.grid(alpha=0.3)
        common.note_unfinished(ax, [r for r in sweep.rows if r.get("slowdown", "") == slow])
        if j:  # one accuracy scale; time differs with the straggler
            ax.sharey(curve_axes[0])
    dot_panel(axes["time"], slowdowns, schemes, times,
              f"time to {target:.0%} test accuracy (s)")
    axes["time"].set_ylim(bottom=0)
    axes["time"].set_title(f"time to {target:.0%} test accuracy")
    dot_panel(axes["final"], slowdowns, schemes, finals, "final test accuracy")
    axes["final"].set_title("final test accuracy (equal passes)")
    axes["time"].legend()
    missed = "; ".join(f"{s} with straggler {slow or 'none'}: {n - k} of {n}"
                       for (slow, s), (k, n) in reached.items() if k < n)
    caption = sweep.caption(
        "top: test accuracy over time, median over repetitions with the interquartile band, "
        "the dotted line at the target; bottom: medians over repetitions with IQR bars; time to "
        f"accuracy from the evaluated snapshots (first at or above {target:.0%}), runs that "
        "never reach it left out of the median (" + (missed or "none") + "); "
        + common.outcome_text(sweep.rows) + common.oversubscribed_text(sweep.rows))
    common.save(fig, args.out, "schemes", caption,
                "Does non-blocking SGD reach the target accuracy sooner than asynchronous and "
                "synchronous SGD, with and without a straggler?")


if __name__ == "__main__":
    main()
