#!/usr/bin/python3
"""Model replication: time to the loss target, final test accuracy and seconds per pass vs threads.

Reads results/<sweep>/ of experiments/replication.json: one row of panels per inner method
(mutex, rwlock, hogwild, leashed), one line per replication (per-machine: the inner method
itself; per-node and per-core, each with the average or the token ring), medians with the IQR
band over repetitions. Seconds per pass (training time / passes over the training data) is the
hardware efficiency DimmWitted separates from the statistical one. Prints the medians as CSV on
stdout. Writes <out>/replication.png, .pdf, .caption.md.
"""

import os
import sys

# Run as a file (plots/NAME.py) rather than as a module (python3 -m plots.NAME): the package
# `plots` is then imported from the folder above this one.
if not __package__:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from plots.missing_modules import exit_if_missing  # noqa: E402

exit_if_missing("matplotlib", "numpy", "pandas")

from matplotlib.ticker import MaxNLocator  # noqa: E402

from plots import common  # noqa: E402

# A line style per replication, the same in every panel.
STYLES = {
    "per-machine": {"color": "black", "linestyle": "-", "marker": "o"},
    "per-node average": {"color": "tab:blue", "linestyle": "-", "marker": "s"},
    "per-node ring": {"color": "tab:blue", "linestyle": "--", "marker": "s"},
    "per-core average": {"color": "tab:orange", "linestyle": "-", "marker": "^"},
    "per-core ring": {"color": "tab:orange", "linestyle": "--", "marker": "^"},
}


def replication(row):
    """'per-machine' (no exchange: the inner method), or '<replicas> <exchange>'."""
    replicas = row.get("replicas", "") or "per-node"
    if replicas == "per-machine":
        return "per-machine"
    return f"{replicas} {row.get('exchange', '') or 'average'}"


def seconds_per_pass(row):
    wall = common.number(row.get("wall_seconds", ""))
    passes = common.number(row.get("passes", ""))
    return wall / passes if wall is not None and passes else None


def main():
    args = common.parse_args(__doc__.splitlines()[0], "replication")
    sweep = common.Sweep(args.results)
    sweep.require_separated("plots/replication.py", "inner", "replicas", "exchange", "threads")
    label, column = sweep.epsilon_column(args.epsilon)
    finished = [r for r in sweep.rows if r["status"] not in common.UNFINISHED]
    inners = sorted({r.get("inner", "") for r in finished}, key=common.sort_key)
    measures = (
        (lambda r: common.number(r.get(column, "")), f"time to loss {label} (s)"),
        (lambda r: common.number(r.get("final_test_accuracy", "")), "final test accuracy"),
        (seconds_per_pass, "seconds per pass"),
    )
    fig, axes = common.figure(max(len(inners), 1), len(measures), width=4.0, height=2.8)
    print("inner,replication,threads,runs,time_to_target,final_test_accuracy,seconds_per_pass")
    hw = sweep.hardware_threads()
    for i, inner in enumerate(inners):
        rows = [r for r in finished if r.get("inner", "") == inner]
        kinds = sorted({replication(r) for r in rows}, key=list(STYLES).index)
        for kind in kinds:
            mine = [r for r in rows if replication(r) == kind]
            threads = sorted({int(r["threads"]) for r in mine})
            medians = []
            for j, (value, ylabel) in enumerate(measures):
                samples = [[value(r) for r in mine if int(r["threads"]) == t] for t in threads]
                common.line_with_band(axes[i][j], threads, samples, kind, **STYLES[kind])
                medians.append([common.median_iqr(s)[0] for s in samples])
                axes[i][j].set_xlabel("threads")
                axes[i][j].set_ylabel(ylabel)
                axes[i][j].set_title(f"--inner {inner}", fontsize=common.SMALL)
                axes[i][j].grid(alpha=0.3)
            for k, t in enumerate(threads):
                runs = sum(1 for r in mine if int(r["threads"]) == t)
                cells = ",".join("" if m[k] is None else f"{m[k]:.4f}" for m in medians)
                print(f"{inner},{kind},{t},{runs},{cells}")
        for ax in axes[i]:
            common.shade_oversubscribed(ax, hw, [int(r["threads"]) for r in rows])
            common.note_unfinished(ax, [r for r in sweep.rows if r.get("inner", "") == inner])
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if inners:
        axes[0][0].legend(loc="lower left", bbox_to_anchor=(0.0, 1.12), ncol=3,
                          fontsize=common.SMALL, frameon=False)
    caption = sweep.caption(
        common.outcome_text(sweep.rows)
        + ". Seconds per pass = training time / passes over the training data (hardware "
        "efficiency); time to the loss target combines it with the passes needed (statistical "
        "efficiency); per-machine is the inner method itself (one replica, no exchange)")
    common.save(fig, args.out, "replication", caption,
                "Does a model per NUMA node or per core beat one per machine, with each method "
                "inside the replicas?")


if __name__ == "__main__":
    main()
