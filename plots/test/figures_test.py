"""The figure test: every figure family drawn from the committed example results, checked for
what makes a figure unprintable.

Each script runs in this process on its results/examples/<spec>-quick/ folder (results/nightly/
for the nightly history) into a temporary folder. Before a figure is written, figure_file calls
the hook below, which fails the family when
- a legend's box covers a data point (a line's vertex, a marker, a bar) of any panel, or
- a panel has no data and no text saying why (common.say_empty), or
- the figure has no FIG.caption.md side file, or its caption does not name the settings held fixed.
A last test builds a sweep whose batch size varies within threads.py's points and checks that the
script refuses it (exit 2, naming `batch`) rather than averaging over it.

Run: /usr/bin/python3 -m unittest discover -s plots/test -p 'figures_*.py' -v
(ctest: PlotsFigures.Unittest, labels unit;plots).
"""

import contextlib
import csv
import importlib
import io
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PLOTS = os.path.dirname(HERE)
ROOT = os.path.dirname(PLOTS)
EXAMPLES = os.path.join(ROOT, "results", "examples")
sys.path.insert(0, ROOT)  # the package `plots`, wherever the test runs from

from plots import missing_modules  # noqa: E402

ABSENT = missing_modules.missing(("matplotlib", "numpy", "pandas"))
MISSING = f"missing {', '.join(ABSENT)}: the figure tests are skipped" if ABSENT else None
if MISSING is None:
    from matplotlib.patches import Rectangle
    import pandas as pd

    from plots import common
    from plots.drawing import curves
    from plots.drawing import figure_file

# (script, results folder, extra arguments, the figure names it writes)
FAMILIES = (
    ("threads.py", "threads-quick", [], ["threads"]),
    ("threads_curves.py", "threads-quick", [], ["threads_curves"]),
    ("reference.py", "reference-quick", [], ["reference"]),
    ("hyperparams.py", "hyperparams-quick", [], ["hyperparams"]),
    ("step-rules.py", "step-rules-quick", [], ["step-rules"]),
    ("staleness.py", "staleness-quick", [], ["staleness"]),
    ("staleness_threads.py", "staleness-quick", [], ["staleness_threads"]),
    ("backoff.py", "backoff-quick", [], ["backoff"]),
    ("persistence.py", "persistence-quick", [], ["persistence"]),
    ("attempts.py", "attempts-quick", [], ["attempts"]),
    ("memory.py", "memory-quick", [], ["memory"]),
    ("cnn.py", "cnn-quick", [], ["cnn"]),
    ("cnn_staleness.py", "cnn-quick", [], ["cnn_staleness"]),
    ("cnn_attempts.py", "cnn-quick", [], ["cnn_attempts"]),
    ("cnn_memory.py", "cnn-quick", [], ["cnn_memory"]),
    ("schemes.py", "schemes-quick", ["--accuracy", "0.80"], ["schemes"]),
    ("averaging.py", "averaging-quick", [], ["averaging"]),
    ("averaging-mpi.py", "averaging-mpi-quick", [], ["averaging-mpi"]),
    ("param-server-mpi.py", "param-server-mpi-quick", [], ["param-server-mpi"]),
    ("param-server.py", "param-server-quick", [], ["param-server"]),
    ("hybrid.py", "hybrid-quick", [], ["hybrid"]),
    # Across studies: one panel per --results folder (two here: a lock study and the CNN's).
    ("efficiency.py", "threads-quick", ["--results", os.path.join(EXAMPLES, "cnn-quick")],
     ["efficiency"]),
    ("replication.py", "replication-quick", [], ["replication"]),
    ("nightly.py", os.path.join(ROOT, "results", "nightly"),
     ["--baseline", os.path.join(ROOT, "experiments", "nightly", "baseline.json")], ["nightly"]),
    ("nightly_ab.py", os.path.join(ROOT, "results", "nightly", "ab"), [], ["nightly_ab"]),
)


def load_script(name):
    """The module plots.<name> (import_module: param-server.py's dash rules out an import
    statement)."""
    return importlib.import_module("plots." + name[:-3])


def data_points(ax):
    """The display coordinates of the data of a panel that a legend must not cover: the vertices
    of its lines, its markers and the corners and centre of its bars (spans that shade a whole
    range are backgrounds, not data)."""
    box = ax.get_window_extent()
    points = []
    for line in ax.lines:
        points += [tuple(p) for p in line.get_transform().transform(line.get_xydata())]
    for collection in ax.collections:
        offsets = collection.get_offsets()
        if len(offsets):
            points += [tuple(p) for p in collection.get_offset_transform().transform(offsets)]
    for patch in ax.patches:
        if isinstance(patch, Rectangle):
            corners = patch.get_transform().transform(patch.get_bbox().get_points())
            (x0, y0), (x1, y1) = corners
            points += [(x0, y0), (x1, y1), (x0, y1), (x1, y0), ((x0 + x1) / 2, (y0 + y1) / 2)]
    return [(x, y) for x, y in points if box.contains(x, y)]  # a clipped point is not drawn


def has_data(ax):
    """Whether a panel draws data: a reference line across it (axhline, in axes coordinates
    along one side) or a shaded span is not data."""
    if ax.images or any(isinstance(p, Rectangle) for p in ax.patches):
        return True
    if any(len(line.get_xydata()) and line.get_transform() is ax.transData for line in ax.lines):
        return True
    return any(len(c.get_offsets()) or len(c.get_paths()) for c in ax.collections)


def problems(fig):
    """What makes the figure unprintable, one text per problem."""
    fig.canvas.draw()
    found = []
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    for legend in legends:
        box = legend.get_window_extent()
        for ax in panels:
            covered = [p for p in data_points(ax) if box.contains(*p)]
            if covered:
                found.append(f"a legend covers {len(covered)} data points of panel "
                             f"'{ax.get_title()}'")
    for ax in panels:
        if not has_data(ax) and not any(t.get_gid() == common.EMPTY_GID for t in ax.texts):
            found.append(f"panel '{ax.get_title()}' is empty and does not say why")
    return found


@unittest.skipIf(MISSING, MISSING or "")
class FiguresTest(unittest.TestCase):
    def setUp(self):
        self.out = tempfile.mkdtemp(prefix="psgd-figures-")
        self.seen = {}

        def hook(fig, name):
            self.seen[name] = problems(fig)

        figure_file.FIGURE_HOOK = hook

    def tearDown(self):
        figure_file.FIGURE_HOOK = None
        shutil.rmtree(self.out, ignore_errors=True)

    def run_script(self, script, argv):
        saved = sys.argv
        sys.argv = [script] + argv
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                load_script(script).main()
        finally:
            sys.argv = saved

    def test_every_family_is_printable(self):
        for script, folder, extra, names in FAMILIES:
            with self.subTest(script=script):
                self.seen.clear()
                results = os.path.join(EXAMPLES, folder)
                self.run_script(script, ["--results", results, "--out", self.out] + extra)
                self.assertEqual(sorted(self.seen), sorted(names))
                for name in names:
                    self.assertEqual(self.seen[name], [], f"{script}: {name}")
                    for ext in ("png", "pdf", "caption.md"):
                        self.assertTrue(os.path.exists(os.path.join(self.out, f"{name}.{ext}")))
                    if not script.startswith("nightly"):  # a sweep names what it held fixed
                        with open(os.path.join(self.out, f"{name}.caption.md"),
                                  encoding="utf-8") as f:
                            self.assertIn("held fixed:", f.read())

    def test_the_checks_find_a_covering_legend_and_a_silent_empty_panel(self):
        fig, axes = common.figure(1, 3)
        full, empty, explained = axes[0]
        full.plot([0, 1, 2], [0, 1, 2], marker="o", label="data under the legend")
        full.legend(loc="center")  # over the middle point
        common.say_empty(explained, "no run reached the target")
        empty.axhline(0.8, linestyle=":")  # a target line alone is no data
        found = problems(fig)
        self.assertEqual(len(found), 2, found)
        self.assertIn("a legend covers 1 data points", found[0])
        self.assertIn("empty and does not say why", found[1])
        bottom = common.legend_outside(fig)  # moved under the panels, it covers nothing
        fig.tight_layout(rect=(0, bottom, 1, 1))
        self.assertEqual(problems(fig), ["panel '' is empty and does not say why"])
        common.plt.close(fig)

    def test_a_median_curve_is_the_median_of_the_runs_up_to_the_shortest(self):
        fig, axes = common.figure(1, 1)
        ax = axes[0][0]
        runs = [pd.DataFrame({"seconds": [0.0, 1.0, 2.0], "loss": [0.0, 1.0, 2.0]}),
                pd.DataFrame({"seconds": [0.0, 1.0], "loss": [0.0, 3.0]})]
        line = curves.median_curve(ax, runs, "loss", color="black")
        xs, ys = line.get_data()
        self.assertAlmostEqual(xs[-1], 1.0)  # the shorter run ends at 1 s: no extrapolation
        for x, y in zip(xs, ys):
            self.assertAlmostEqual(y, 2.0 * x)  # the median of x and 3x
        band = ax.collections[0].get_paths()[0].vertices
        self.assertAlmostEqual(band[:, 1].max(), 2.5)  # 75th percentile of 1 and 3 at 1 s
        common.plt.close(fig)

    def test_one_colour_per_method_and_variants_find_theirs(self):
        colours = list(common.METHOD_COLORS.values())
        self.assertEqual(len(colours), len(set(colours)), "two methods share a colour")
        # A method without a marker of its own gets "o"; a marker needs a method with a colour.
        self.assertLessEqual(set(common.METHOD_MARKERS), set(common.METHOD_COLORS))
        # A scheme's name with its settings takes its method's colour (schemes, hybrid).
        self.assertEqual(common.method_color("nonblocking K=8 mean"),
                         common.METHOD_COLORS["nonblocking"])
        self.assertEqual(common.method_color("hybrid K0,T=1,500 linear"),
                         common.METHOD_COLORS["hybrid"])
        self.assertEqual(common.method_color("no such method"), common.UNKNOWN_COLOR)

    def test_a_setting_the_figure_does_not_separate_is_refused(self):
        sweep = os.path.join(self.out, "threads-two-batches")
        shutil.copytree(os.path.join(EXAMPLES, "threads-quick"), sweep)
        index = os.path.join(sweep, "index.csv")
        with open(index, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            columns, rows = reader.fieldnames, list(reader)
        for row in rows:  # half of every point's repetitions at another batch size
            if row["repetition"] == "1":
                row["batch"] = "32"
        with open(index, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, columns)
            writer.writeheader()
            writer.writerows(rows)
        errors = io.StringIO()
        with contextlib.redirect_stderr(errors), self.assertRaises(SystemExit) as raised:
            self.run_script("threads.py", ["--results", sweep, "--out", self.out])
        self.assertEqual(raised.exception.code, 2)
        self.assertIn("'batch' varies (32, 128)", errors.getvalue())


if __name__ == "__main__":
    unittest.main()
