#!/usr/bin/python3
"""Memory per method vs threads: peak RSS, the shared storage each method allocates, and the
parameter vectors live at the peak (Leashed's bounded reclamation vs the locks' one vector).

Reads results/<sweep>/ of experiments/memory.json. Left: the process's peak resident set
(resources.peak_rss_bytes: data set, model scratch per worker and shared storage together).
Middle: the bytes allocated through the one shared-memory path (resources.shared_bytes: the
parameters; Leashed's whole pool of 3N vectors; sync's gradient slots). Right: parameter-sized
vectors live at once: Leashed's measured peak (contention.peak_live_vectors) beside its bound
2N + 1 (algorithm.live_vectors.bound); a method without dynamic reclamation holds all of its
shared storage for the whole run, so its peak is shared_bytes / (4 bytes x model.params).
Medians over repetitions with IQR bands; thread counts above the hardware threads are shaded.
Writes <out>/memory.png, .pdf, .caption.md.
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

MIB = 1024.0 * 1024.0
FLOAT_BYTES = 4  # the shared parameters are float32 (algorithms/shared_memory.hpp)


def rss_mib(sweep, row):
    value = (sweep.doc(row).get("resources") or {}).get("peak_rss_bytes")
    return value / MIB if value is not None else None


def shared_mib(sweep, row):
    value = (sweep.doc(row).get("resources") or {}).get("shared_bytes")
    return value / MIB if value is not None else None


def live_vectors(sweep, row):
    """Parameter vectors live at the peak: measured where the method reclaims, else all it holds."""
    doc = sweep.doc(row)
    peak = (doc.get("contention") or {}).get("peak_live_vectors")
    if peak is not None:
        return peak
    shared = (doc.get("resources") or {}).get("shared_bytes")
    params = (doc.get("model") or {}).get("params")
    return shared / (FLOAT_BYTES * params) if shared is not None and params else None


def live_bound(sweep, row):
    return ((sweep.doc(row).get("algorithm") or {}).get("live_vectors") or {}).get("bound")


PANELS = (
    (rss_mib, "peak RSS (MiB)", "peak resident set"),
    (shared_mib, "shared storage allocated (MiB)", "shared storage"),
    (live_vectors, "parameter vectors live at the peak", "live parameter vectors"),
)


def draw(sweep, out, name, title, script="plots/memory.py"):
    """The figure of any sweep with algo and threads axes."""
    sweep.require_separated(script, "method", "threads")
    finished = [r for r in sweep.rows if r["status"] not in common.UNFINISHED]
    methods = common.methods_of(sweep.rows)
    threads = sorted({common.number(t) for t in sweep.values("threads")})
    fig, axes = common.figure(1, len(PANELS), width=4.4, height=3.4)
    for j, (value, ylabel, what) in enumerate(PANELS):
        ax = axes[0][j]
        for m in methods:
            by_threads = common.group([r for r in finished if common.method(r) == m], "threads")
            xs = [common.number(k[0]) for k in by_threads]
            common.line_with_band(
                ax, xs, [[value(sweep, r) for r in g] for g in by_threads.values()],
                label=m, **common.method_style(m),
            )
            if value is live_vectors and m == "leashed":
                common.line_with_band(
                    ax, xs, [[live_bound(sweep, r) for r in g] for g in by_threads.values()],
                    label="leashed: bound 2N + 1", color=common.method_color(m),
                    marker="", linestyle="--", alpha=0.6,
                )
        common.shade_oversubscribed(ax, sweep.hardware_threads(), threads)
        ax.set_xticks(threads)
        ax.set_xlabel("threads")
        ax.set_ylabel(ylabel)
        ax.set_ylim(bottom=0)
        ax.set_title(f"{what} vs threads")
        ax.grid(alpha=0.3)
        ax.legend()
        common.note_unfinished(ax, sweep.rows)
    caption = sweep.caption(
        "medians over repetitions with IQR bands; methods with equal values (the lock-based "
        "ones and hogwild hold one shared vector) are drawn over each other, told apart by "
        "their markers; " + common.outcome_text(sweep.rows) + common.oversubscribed_text(sweep.rows)
    )
    common.save(fig, out, name, caption, title)


def main():
    args = common.parse_args(__doc__.splitlines()[0], "memory")
    sweep = common.Sweep(args.results)
    settings = sweep.settings("model")
    draw(
        sweep,
        args.out,
        "memory",
        "How much memory does each method hold as threads are added?"
        + (f" ({settings})" if settings else ""),
    )


if __name__ == "__main__":
    main()
