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
on stdout. Writes <out>/schemes.png and .pdf.
"""

import argparse
import os

import common

COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown",
          "tab:pink", "tab:grey", "tab:olive", "tab:cyan")


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


def main():
    args = parse_args()
    sweep = common.Sweep(args.results)
    finished = [r for r in sweep.rows if r["status"] not in common.UNFINISHED]
    slowdowns = sweep.values("slowdown") if "slowdown" in sweep.columns else [""]
    slowdowns = sorted(slowdowns, key=slowdown_order)
    schemes = sorted({scheme_of(sweep.doc(r)) for r in finished})
    color = {s: COLORS[i % len(COLORS)] for i, s in enumerate(schemes)}
    fig, axes = common.figure(2, len(slowdowns), width=4.6, height=3.2)
    target = args.accuracy
    if target is None:
        target = default_target([sweep.doc(r) for r in finished])
    print("slowdown,method,runs,reached,median_time_to_accuracy_s,median_final_accuracy")
    for j, slow in enumerate(slowdowns):
        rows = [r for r in finished if r.get("slowdown", "") == slow]
        top, bottom = axes[0][j], axes[1][j]
        labelled = set()
        for row in rows:
            doc = sweep.doc(row)
            s = scheme_of(doc)
            series = doc.get("series", [])
            top.plot([p["seconds"] for p in series], [p.get("test_accuracy") for p in series],
                     color=color[s], linewidth=1, label=None if s in labelled else s)
            labelled.add(s)
        top.axhline(target, color="black", linewidth=0.6, linestyle=":")
        top.set_title(f"straggler: {slow or 'none'}", fontsize=9)
        top.set_xlabel("wall-clock training time (s)")
        top.set_ylabel("test accuracy")
        top.grid(alpha=0.3)
        common.note_unfinished(top, [r for r in sweep.rows if r.get("slowdown", "") == slow])
        top.legend()
        names, times, labels = [], [], []
        for s in schemes:
            docs = [sweep.doc(r) for r in rows if scheme_of(sweep.doc(r)) == s]
            if not docs:
                continue
            reached = [t for t in (time_to_accuracy(d, target) for d in docs) if t is not None]
            finals = [a for a in (final_accuracy(d) for d in docs) if a is not None]
            median_t, _, _ = common.median_iqr(reached) if reached else (None, None, None)
            median_a, _, _ = common.median_iqr(finals) if finals else (None, None, None)
            print(f"{slow or 'none'},{s},{len(docs)},{len(reached)},"
                  f"{'' if median_t is None else f'{median_t:.3f}'},"
                  f"{'' if median_a is None else f'{median_a:.4f}'}")
            names.append(s)
            times.append(median_t if median_t is not None else 0.0)
            labels.append((f"{median_t:.2f} s" if median_t is not None else "not reached")
                          + (f", final {median_a:.3f}" if median_a is not None else "")
                          + f" ({len(reached)}/{len(docs)})")
        ys = range(len(names))
        bottom.barh(list(ys), times, color=[color[n] for n in names])
        for y, text in zip(ys, labels):
            bottom.text(0, y, " " + text, va="center", fontsize=common.SMALL)
        bottom.set_yticks(list(ys))
        bottom.set_yticklabels(names, fontsize=common.SMALL)
        bottom.set_xlabel(f"median time to {target:.0%} test accuracy (s)")
        bottom.grid(alpha=0.3, axis="x")
    caption = sweep.caption(
        f"time to accuracy from the evaluated snapshots (first at or above {target:.0%}); "
        + common.outcome_text(sweep.rows) + common.oversubscribed_text(sweep.rows))
    common.save(fig, args.out, "schemes", caption,
                "Does non-blocking SGD reach the target accuracy sooner than asynchronous and "
                "synchronous SGD, with and without a straggler?")


if __name__ == "__main__":
    main()
