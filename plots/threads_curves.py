#!/usr/bin/python3
"""Train loss, test loss and test accuracy over wall-clock time, one colour per method, one row
per thread count: the study's main convergence figure on psgd's own default settings.

Reads results/<sweep>/ of experiments/threads.json (the same runs as plots/threads.py; a second
figure of that sweep) and draws every finished run's evaluated snapshots (its `series`) as one
thin line; repetitions share their method's colour, the placement is the line style. Invalid and
crashed runs have no series: each row says how many there were. Writes <out>/threads_curves.png
and .pdf.
"""

import common

METRICS = (
    ("train_loss", "train loss"),
    ("test_loss", "test loss"),
    ("test_accuracy", "test accuracy"),
)
STYLES = ("-", "--", ":", "-.")


def draw(sweep, out, name, title):
    """The figure of any sweep with an algo x threads grid whose runs have series."""
    finished = [r for r in sweep.rows if r["status"] not in common.UNFINISHED]
    threads = sorted({r["threads"] for r in sweep.rows}, key=common.sort_key)
    placements = sorted({r.get("placement", "") for r in sweep.rows}, key=common.sort_key)
    style = {p: STYLES[i % len(STYLES)] for i, p in enumerate(placements)}
    fig, axes = common.figure(max(1, len(threads)), len(METRICS), width=4.4, height=2.9)
    series = dict(tuple(sweep.series().groupby("run_id")))
    for i, t in enumerate(threads):
        rows = [r for r in finished if r["threads"] == t]
        labelled = set()
        for row in rows:
            if row["run_id"] not in series:
                continue
            points = series[row["run_id"]]
            m, placement = common.method(row), row.get("placement", "")
            key = (m, placement)
            label = None
            if key not in labelled:
                label = m + (f", {placement}" if len(placements) > 1 else "")
                labelled.add(key)
            for j, (metric, _) in enumerate(METRICS):
                axes[i][j].plot(
                    points["seconds"],
                    points[metric],
                    color=common.method_color(m),
                    linestyle=style[placement],
                    linewidth=1,
                    alpha=0.8,
                    label=label,
                )
        for j, (_, ylabel) in enumerate(METRICS):
            ax = axes[i][j]
            ax.set_title(f"{common.threads_label(t, rows)}: {ylabel}")
            ax.set_ylabel(ylabel)
            ax.set_xlabel("wall-clock training time (s)")
            ax.grid(alpha=0.3)
            common.note_unfinished(ax, [r for r in sweep.rows if r["threads"] == t])
        axes[i][0].legend()
    caption = sweep.caption(
        "one line per run (repetitions share their method's colour; line style: placement); "
        + common.outcome_text(sweep.rows)
    )
    common.save(fig, out, name, caption, title)


def main():
    args = common.parse_args(__doc__.splitlines()[0], "threads")
    sweep = common.Sweep(args.results)
    settings = sweep.settings("model", "batch", "step")
    draw(
        sweep,
        args.out,
        "threads_curves",
        "How fast does each method lower the loss in wall-clock time, per thread count?"
        + (f" ({settings})" if settings else ""),
    )


if __name__ == "__main__":
    main()
