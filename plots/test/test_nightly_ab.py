"""plots/nightly_ab.py on two synthetic A/B documents: the runs in date order, one panel per
benchmark measured in at least half of them (a step's GFLOP/s left out), each run's stored
slowdown, interval and detectable effect drawn where they belong, runs judged before the family
rule hollow, and a file of another kind refused.

Run: /usr/bin/python3 -m unittest discover -s plots/test -p 'test_nightly_ab.py' -v
(ctest: PlotsLoader.Unittest)."""

import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)

from plots import missing_modules  # noqa: E402

MISSING = missing_modules.missing(("matplotlib", "numpy"))


def row(name, slowdown, low, high, detectable, verdict, higher_is_better=True):
    return {"name": name, "unit": "samples/s", "higher_is_better": higher_is_better, "pairs": 16,
            "ratios": [1.0] * 16, "ratio": 1.0 / (1.0 + slowdown), "low": 0.9, "high": 1.1,
            "coverage": 0.999, "slowdown": slowdown, "slowdown_low": low, "slowdown_high": high,
            "detectable": detectable, "a_median": 1.0, "b_median": 1.0, "verdict": verdict}


def document(date, b_dir, rows, family=True):
    verdict = {"status": "PASS", "rows": rows, "checks": [], "disturbed": False,
               "load_range": [1.0, 1.5], "pairs_disturbed": 0, "retries": 0}
    if family:
        verdict.update(family_size=len(rows), benchmark_confidence=0.99)
    context = {"date": date, "cpu_model": "Test CPU"}
    return {"kind": "psgd-nightly-ab", "schema_version": 1,
            "builds": {"A": {"dir": "a", "context": context, "git_sha": None, "label": "a"},
                       "B": {"dir": b_dir, "context": context, "git_sha": None, "label": "b"}},
            "settings": {"pairs": 16}, "loads": [], "schedule": [], "verdict": verdict}


STEP = "micro/models/training_step/mlp/32/samples_per_second"


@unittest.skipIf(MISSING, "missing %s: the figure tests are skipped" % ", ".join(MISSING))
class NightlyAbPlot(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="psgd-nightly-ab-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.results = os.path.join(self.tmp, "ab")
        os.makedirs(self.results)
        # Named so that the file order is the reverse of the date order.
        later = document("2026-12-07T03:17:00+00:00", "build/ab/slow", [
            row(STEP, 0.10, 0.06, 0.14, 0.05, "slower"),
            row(STEP.replace("samples_per_second", "gflops"), 0.10, 0.06, 0.14, 0.05, "slower"),
            row("micro/models/only_once", 0.0, -0.01, 0.01, 0.03, "same")])
        earlier = document("2026-12-06T03:17:00+00:00", "build/release", [
            row(STEP, 0.01, -0.02, 0.04, 0.07, "same")], family=False)
        for name, doc in (("a.json", later), ("b.json", earlier)):
            with open(os.path.join(self.results, name), "w", encoding="utf-8") as f:
                json.dump(doc, f)

    def draw(self, *extra):
        from plots import nightly_ab
        from plots.drawing import figure_file
        seen = {}

        def keep(fig, name):
            fig.canvas.draw()
            seen[name] = fig

        figure_file.FIGURE_HOOK = keep
        saved = sys.argv
        sys.argv = ["nightly_ab.py", "--results", self.results, "--out", self.tmp, *extra]
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                nightly_ab.main()
        finally:
            sys.argv = saved
            figure_file.FIGURE_HOOK = None
        return seen["nightly_ab"]

    def test_each_run_drawn_with_its_interval_and_detectable_effect_in_date_order(self):
        fig = self.draw()
        panels = [ax for ax in fig.axes if ax.get_title()]
        # only_once is in 1 of 2 runs: half, drawn; the GFLOP/s copy of the step is not.
        self.assertEqual([ax.get_title() for ax in panels], [STEP, "micro/models/only_once"])
        step = panels[0]
        ticks = [t.get_text() for t in step.get_xticklabels()]
        self.assertTrue(ticks[0].startswith("12-06 03:17\nB release"), ticks)
        self.assertTrue(ticks[1].startswith("12-07 03:17\nB slow"), ticks)
        dots = [line for line in step.lines if line.get_marker() == "o"]
        self.assertEqual([tuple(d.get_xydata()[0]) for d in dots], [(0.0, 1.0), (1.0, 10.0)])
        self.assertEqual(dots[0].get_markerfacecolor(), "white")  # judged per benchmark
        self.assertNotEqual(dots[1].get_markerfacecolor(), "white")
        bars = [c for c in step.collections if len(c.get_segments())]
        ends = sorted(tuple(sorted(seg[:, 1])) for c in bars for seg in c.get_segments())
        self.assertEqual([tuple(round(v, 9) for v in e) for e in ends], [(-2.0, 4.0), (6.0, 14.0)])
        dashes = [line for line in step.lines if line.get_gid() == "detectable"]
        self.assertEqual([tuple(round(v, 9) for v in d.get_xydata()[0]) for d in dashes],
                         [(0.0, 7.0), (1.0, 5.0)])
        with open(os.path.join(self.tmp, "nightly_ab.caption.md"), encoding="utf-8") as f:
            self.assertIn("2 A/B runs", f.read())

    def test_a_pattern_chooses_the_panels_and_other_files_are_refused(self):
        fig = self.draw("--benchmarks", "gflops")
        self.assertEqual([ax.get_title() for ax in fig.axes if ax.get_title()],
                         [STEP.replace("samples_per_second", "gflops")])
        with open(os.path.join(self.results, "c.json"), "w", encoding="utf-8") as f:
            json.dump({"kind": "psgd-nightly"}, f)
        with self.assertRaises(SystemExit) as stop:
            self.draw()
        self.assertIn("not a psgd nightly A/B document", str(stop.exception))


if __name__ == "__main__":
    unittest.main()
