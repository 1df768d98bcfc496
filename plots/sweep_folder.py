"""One results/<sweep>/ folder as the figure scripts see it: its index rows (text cells), its
plan, its run documents and the caption that names machine, placement and sweep.

The files are read through psgd_results; the scripts use this class through common.Sweep.
"""

import math
import os
import sys
from collections import OrderedDict

from plots import psgd_results

UNFINISHED = psgd_results.UNFINISHED


def number(text):
    """A CSV cell as a float, or None when empty or not a number."""
    if text is None or text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def sort_key(text):
    """Numbers in numeric order before words; 'inf' after every number."""
    value = number(text)
    if text == "inf":
        return (1, math.inf, "")
    if value is None:
        return (2, 0.0, text)
    return (0, value, "")


class Sweep:
    """One results/<sweep>/ folder: its index rows, its plan and its run documents."""

    def __init__(self, folder):
        self.folder = folder
        self.columns, self.rows = psgd_results.read_index_rows(folder)
        self.plan = psgd_results.read_plan(folder)
        self._docs = {}
        self._frames = {}

    @property
    def name(self):
        return self.plan.get("sweep", os.path.basename(os.path.normpath(self.folder)))

    @property
    def axes(self):
        return list(self.plan.get("axes", []))

    def base(self):
        """The options every run of the sweep got (the resolved spec's `base`)."""
        return psgd_results.plan_base(self.plan)

    def settings(self, *names):
        """'name value, ...' of the base options `names` that the spec sets, for a title."""
        base = self.base()
        return ", ".join(f"{n} {base[n]}" for n in names if n in base)

    def context(self):
        """The machine context of the first readable run document ({} if none)."""
        for row in self.rows:
            try:
                context = self.doc(row).get("context", {})
            except (OSError, ValueError):
                continue
            if context:
                return context
        return {}

    @staticmethod
    def machine_of(context):
        return "{} ({} hardware threads, host {})".format(
            context.get("cpu", "unknown CPU"),
            context.get("hardware_threads", "?"),
            context.get("host", "?"),
        )

    def machines(self):
        """{machine: number of runs} over every readable run document."""
        out = OrderedDict()
        for row in self.rows:
            try:
                context = self.doc(row).get("context", {})
            except (OSError, ValueError):
                continue
            if context:
                name = self.machine_of(context)
                out[name] = out.get(name, 0) + 1
        return out

    def hardware_threads(self):
        return int(self.context().get("hardware_threads") or 0)

    def doc(self, row):
        """The run document of an index row (cached)."""
        path = os.path.join(self.folder, row["file"])
        if path not in self._docs:
            self._docs[path] = psgd_results.load_run(path)
        return self._docs[path]

    def documents(self):
        """{run_id: document} of the rows whose document exists."""
        out = {}
        for row in self.rows:
            if row["file"] and os.path.exists(os.path.join(self.folder, row["file"])):
                out[row["run_id"]] = self.doc(row)
        return out

    def frame(self):
        """psgd_results.load_sweep of the folder: one row per run (cached)."""
        if "runs" not in self._frames:
            runs = psgd_results.load_sweep(self.folder)
            runs.attrs["axes"] = self.axes
            self._frames["runs"] = runs
        return self._frames["runs"]

    def histograms(self):
        """psgd_results.histograms of the folder (cached)."""
        if "histograms" not in self._frames:
            self._frames["histograms"] = psgd_results.histograms(
                self.folder, self.frame(), self.documents()
            )
        return self._frames["histograms"]

    def series(self):
        """psgd_results.series of the folder (cached)."""
        if "series" not in self._frames:
            self._frames["series"] = psgd_results.series(
                self.folder, self.frame(), self.documents()
            )
        return self._frames["series"]

    def values(self, column):
        """The distinct values of a column, in sort_key order."""
        return sorted({row.get(column, "") for row in self.rows}, key=sort_key)

    def epsilon_labels(self):
        """(label, column) of every time-to-epsilon column, loosest target first."""
        prefix = "time_to_epsilon_"
        out = []
        for column in self.columns:
            if column.startswith(prefix):
                label = column[len(prefix):]
                out.append((label[:-3] + "%" if label.endswith("pct") else label, column))
        return out

    def epsilon_column(self, wanted=None):
        """The time-to-epsilon column to plot: `wanted` (a label like 25%), or the tightest
        target that at least half of the finished runs reached."""
        labels = self.epsilon_labels()
        if not labels:
            raise SystemExit(f"{self.folder}: the index has no time_to_epsilon columns")
        if wanted:
            for label, column in labels:
                if label == wanted:
                    return label, column
            raise SystemExit(f"no epsilon '{wanted}'; valid: {', '.join(l for l, _ in labels)}")
        finished = [r for r in self.rows if r["status"] not in UNFINISHED]
        chosen = labels[0]
        for label, column in labels:
            reached = sum(1 for r in finished if number(r.get(column)) is not None)
            if finished and reached * 2 >= len(finished):
                chosen = (label, column)
        return chosen

    def option_columns(self):
        """The index columns that hold run options (sweep.json's option_columns, else its axes)."""
        return list(self.plan.get("option_columns") or self.axes)

    def require_separated(self, script, *columns):
        """Refuses (one line, exit 2) when an option varies among runs that the figure draws as
        one statistic: rows grouped by `columns` ("method" stands for algo and the options that
        make another method) must agree on every other option column, so no figure averages
        silently over a setting it does not show. Returns the rows' groups."""
        keys = []
        for column in columns:
            keys += ["algo", *psgd_results.METHOD_OPTIONS] if column == "method" else [column]
        groups = {}
        for row in self.rows:
            groups.setdefault(tuple(row.get(k, "") for k in keys), []).append(row)
        for column in self.option_columns():
            if column in keys:
                continue
            for rows in groups.values():
                values = sorted({r.get(column, "") for r in rows}, key=sort_key)
                if len(values) > 1:
                    print(f"{script}: '{column}' varies ({', '.join(values)}) among runs this "
                          f"figure would merge (it separates {', '.join(columns)}); draw each "
                          f"value from its own sweep folder", file=sys.stderr)
                    sys.exit(2)
        return groups

    def fixed_text(self):
        """'held fixed: batch 128, step 0.02, ...': the options with one value in every run
        (option columns with one value, then the spec's other base options)."""
        held = OrderedDict()
        for column in self.option_columns():
            values = {r.get(column, "") for r in self.rows}
            if len(values) == 1 and "" not in values:
                held[column] = values.pop()
        for name, value in self.base().items():
            held.setdefault(name, value)
        return "held fixed: " + (", ".join(f"{k} {v}" for k, v in held.items()) or "nothing")

    def caption(self, extra=""):
        """Machine, placement and sweep, for the line under every figure."""
        context = self.context()
        machines = self.machines()
        if len(machines) > 1:  # runs resumed on another machine: say so, never hide it
            machine = "; ".join(f"{m} for {n} runs" for m, n in machines.items())
        else:
            machine = self.machine_of(context)
        placements = ", ".join(v for v in self.values("placement") if v) or "n/a"
        memory = ", ".join(v for v in self.values("memory") if v) or "n/a"
        runs = len(self.rows)
        reps = self.plan.get("repetitions", "?")
        text = (
            f"machine: {machine}; placement: {placements}; memory: {memory}; "
            f"sweep {self.name}: {runs} runs, {reps} repetitions per point, build "
            f"{context.get('build_type', '?')}"
        )
        return text + ("; " + extra if extra else "") + ". " + self.fixed_text() + "."
