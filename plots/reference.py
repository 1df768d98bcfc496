#!/usr/bin/python3
"""Train loss and test accuracy over wall-clock time, one curve per method, one column per
thread count: the study's main convergence figure.

Reads results/<sweep>/ of experiments/reference.json (the reference framework's settings) and
draws every run's evaluated snapshots (its `series`), one thin line per repetition. Writes
<out>/reference.png and .pdf.
"""

import common


def main():
    args = common.parse_args(__doc__.splitlines()[0], "reference")
    sweep = common.Sweep(args.results)
    finished = [r for r in sweep.rows if r["status"] not in common.UNFINISHED]
    threads = sorted({r["threads"] for r in finished}, key=common.sort_key)
    fig, axes = common.figure(2, max(1, len(threads)))
    series = dict(tuple(sweep.series().groupby("run_id")))
    for col, t in enumerate(threads):
        top, bottom = axes[0][col], axes[1][col]
        labelled = set()
        for row in (r for r in finished if r["threads"] == t and r["run_id"] in series):
            points = series[row["run_id"]]
            name = common.method(row)
            label = None if name in labelled else name
            labelled.add(name)
            style = dict(color=common.method_color(name), linewidth=1, alpha=0.8, label=label)
            top.plot(points["seconds"], points["train_loss"], **style)
            bottom.plot(points["seconds"], points["test_accuracy"], **style)
        heading = common.threads_label(t, sweep.rows)
        top.set_title(f"{heading}: train loss")
        top.set_ylabel("train loss (evaluated snapshots)")
        bottom.set_title(f"{heading}: test accuracy")
        bottom.set_ylabel("test accuracy")
        for ax in (top, bottom):
            ax.set_xlabel("wall-clock training time (s)")
            ax.grid(alpha=0.3)
            ax.legend()
            common.note_unfinished(ax, [r for r in sweep.rows if r["threads"] == t])
    caption = sweep.caption(
        "one line per run (repetitions of a method share its colour); "
        + common.outcome_text(sweep.rows)
    )
    title = (
        "How fast does each method lower the loss in wall-clock time on the reference "
        "framework's settings?"
    )
    common.save(fig, args.out, "reference", caption, title)


if __name__ == "__main__":
    main()
