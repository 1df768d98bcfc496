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
    for col, t in enumerate(threads):
        top, bottom = axes[0][col], axes[1][col]
        labelled = set()
        for row in (r for r in finished if r["threads"] == t):
            series = sweep.doc(row).get("series", [])
            seconds = [p["seconds"] for p in series]
            name = common.method(row)
            label = None if name in labelled else name
            labelled.add(name)
            style = dict(color=common.method_color(name), linewidth=1, alpha=0.8, label=label)
            top.plot(seconds, [p["train_loss"] for p in series], **style)
            bottom.plot(seconds, [p["test_accuracy"] for p in series], **style)
        top.set_title(f"{t} thread(s): train loss")
        top.set_ylabel("train loss (evaluated snapshots)")
        bottom.set_title(f"{t} thread(s): test accuracy")
        bottom.set_ylabel("test accuracy")
        for ax in (top, bottom):
            ax.set_xlabel("wall-clock training time (s)")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
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
