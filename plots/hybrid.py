#!/usr/bin/python3
"""The smooth-switch hybrid against pure asynchronous and pure synchronous parameter servers
within a fixed time budget, with injected communication delay.

Reads results/<sweep>/ of experiments/hybrid.json. Left: every finished run's test accuracy over
wall-clock time (one colour per setting); middle: the median final test accuracy reached in the
budget per setting (K0, T, shape); right: the median final test loss. Prints the medians as CSV on
stdout. Writes <out>/hybrid.png and .pdf.
"""

import common

COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown",
          "tab:pink", "tab:grey", "tab:olive", "tab:cyan")


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
    finished = [r for r in sweep.rows if r["status"] not in common.UNFINISHED]
    settings = sorted({setting_of(sweep.doc(r)) for r in finished})
    color = {s: COLORS[i % len(COLORS)] for i, s in enumerate(settings)}
    fig, axes = common.figure(1, 3, width=4.6, height=3.4)
    curves, acc_ax, loss_ax = axes[0]
    labelled = set()
    for row in finished:
        doc = sweep.doc(row)
        s = setting_of(doc)
        series = doc.get("series", [])
        curves.plot([p["seconds"] for p in series], [p.get("test_accuracy") for p in series],
                    color=color[s], marker=".", linewidth=1, label=None if s in labelled else s)
        labelled.add(s)
    curves.set_xlabel("wall-clock training time (s)")
    curves.set_ylabel("test accuracy")
    curves.grid(alpha=0.3)
    curves.legend()
    common.note_unfinished(curves, sweep.rows)
    print("setting,runs,median_final_test_accuracy,median_final_test_loss,median_updates")
    for ax, key, xlabel in ((acc_ax, "test_accuracy", "final test accuracy in the budget"),
                            (loss_ax, "test_loss", "final test loss in the budget")):
        medians = []
        for s in settings:
            docs = [sweep.doc(r) for r in finished if setting_of(sweep.doc(r)) == s]
            medians.append(common.median_iqr([last(d, key) for d in docs])[0])
            if key == "test_accuracy":
                loss = common.median_iqr([last(d, "test_loss") for d in docs])[0]
                updates = common.median_iqr([d["updates"]["applied"] for d in docs])[0]
                print(f"{s},{len(docs)},{medians[-1]},{loss},{updates}")
        ys = list(range(len(settings)))
        ax.barh(ys, [m or 0.0 for m in medians], color=[color[s] for s in settings])
        for y, m in zip(ys, medians):
            ax.text(m or 0.0, y, " n/a" if m is None else f" {m:.3f}", va="center", fontsize=common.SMALL)
        ax.set_yticks(ys)
        ax.set_yticklabels(settings, fontsize=common.SMALL)
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3, axis="x")
    budget = sweep.base().get("time-limit", "?")
    caption = sweep.caption(f"time budget {budget} s, delay {sweep.base().get('delay', 'none')}; "
                            + common.outcome_text(sweep.rows)
                            + common.oversubscribed_text(sweep.rows))
    common.save(fig, args.out, "hybrid", caption,
                "Within a fixed time budget, does the smooth switch from asynchronous to "
                "synchronous beat both pure schemes?")


if __name__ == "__main__":
    main()
