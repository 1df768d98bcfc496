#!/usr/bin/python3
"""Train loss and test accuracy over wall-clock time, one colour per method, one row
per thread count: the study's main convergence figure on psgd's own default settings.

Reads results/<sweep>/ of experiments/threads.json (the same runs as plots/threads.py; a second
figure of that sweep) and draws the finished runs' evaluated snapshots (their `series`) as one
median line per method with the interquartile band over repetitions; colour and marker: the
method, line style: the placement. Invalid and crashed runs have no series: each row says how
many there were. Writes <out>/threads_curves.png, .pdf and .caption.md.
"""

import os
import sys

# Run as a file (plots/NAME.py) rather than as a module (python3 -m plots.NAME): the package
# `plots` is then imported from the folder above this one.
if not __package__:
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from plots.missing_modules import exit_if_missing  # noqa: E402

exit_if_missing("matplotlib", "numpy", "pandas")

from plots import common  # noqa: E402
from plots.drawing import curves  # noqa: E402

METRICS = (
    ("train_loss", "train loss"),
    ("test_accuracy", "test accuracy"),
)
STYLES = ("-", "--", ":", "-.")


def draw(sweep, out, name, title, script="plots/threads_curves.py"):
    """The figure of any sweep with a method x threads (x placement) grid whose runs have series:
    one row per thread count, one column per metric, shared axes per column."""
    sweep.require_separated(script, "method", "threads", "placement")
    finished = [r for r in sweep.rows if r["status"] not in common.UNFINISHED]
    threads = sorted({r["threads"] for r in sweep.rows}, key=common.sort_key)
    placements = sorted({r.get("placement", "") for r in sweep.rows}, key=common.sort_key)
    style = {p: STYLES[i % len(STYLES)] for i, p in enumerate(placements)}
    fig, axes = common.figure(max(1, len(threads)), len(METRICS), width=4.4, height=2.9,
                              sharex=True, sharey="col")
    series = dict(tuple(sweep.series().groupby("run_id")))
    methods = common.methods_of(finished)
    for i, t in enumerate(threads):
        rows = [r for r in finished if r["threads"] == t and r["run_id"] in series]
        keys = ("algo", "lock", "test-before-cas", "placement")
        for key, group in common.group(rows, *keys).items():
            m = common.method(group[0])
            for j, (metric, _) in enumerate(METRICS):
                curves.median_curve(axes[i][j], [series[r["run_id"]] for r in group], metric,
                                    linestyle=style[key[-1]], **common.method_style(m))
        for j, (_, ylabel) in enumerate(METRICS):
            ax = axes[i][j]
            ax.set_title(f"{common.threads_label(t, sweep.rows)}: {ylabel}")
            ax.set_ylabel(ylabel)
            if i == len(threads) - 1:
                ax.set_xlabel("wall-clock training time (s)")
            ax.grid(alpha=0.3)
            common.note_unfinished(ax, [r for r in sweep.rows if r["threads"] == t])
            if not rows:
                common.say_empty(ax, f"no finished run at {t} threads")
    curves.key_entries(axes[0][0], {m: common.method_style(m) for m in methods},
                       {f"placement {p}": style[p] for p in placements})
    axes[0][0].legend()
    reps = sweep.plan.get("repetitions", "?")
    caption = sweep.caption(
        f"line: median over the {reps} repetitions of a point, band: their interquartile range "
        "(each run interpolated onto a common time grid up to the shortest run's end; one run "
        "is drawn as it is); colour: method"
        + ("; line style: placement" if len(placements) > 1 else "") + "; "
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
