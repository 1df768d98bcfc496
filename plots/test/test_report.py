"""Tests of plots/report.py (what `psgd report` runs) on the committed fixture sweep: the page's
counts, tables, figures with their side-file captions, joined run documents and bad input.
The page in a real browser is plots/test/browser_report.py."""

import contextlib
import io
import os
import re
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))  # the package `plots`
FIXTURE = os.path.join(HERE, "data", "sweep")

try:
    import jinja2  # noqa: F401
except ImportError:
    raise unittest.SkipTest("jinja2 is missing: run `make plots-deps` (Debian's python3-jinja2)")

from plots import report  # noqa: E402
from plots import report_sources  # noqa: E402

RUN_ROW = re.compile(r'<tr><td data-v="[^"]*"><a href="#s(\d+)-')
# A 1x1 PNG, enough to stand for a figure.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


class ReportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="psgd-report-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def write_report(self, *args):
        out = os.path.join(self.tmp, "page.html")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = report.main([*args, "--out", out])
        self.assertEqual(code, 0)
        with open(out, encoding="utf-8") as f:
            return f.read()

    def test_status_counts_of_the_fixture(self):
        source = report_sources.sweep_source(FIXTURE, [])
        counts = dict(source["status_counts"])
        self.assertEqual(counts, {"converged": 0, "not_converged": 2, "diverged": 0,
                                  "invalid": 0, "crashed": 1})
        self.assertEqual(len(source["rows"]), 3)
        labels = dict(source["provenance"])
        self.assertIn("git commit", labels)
        self.assertIn("run dates (UTC)", labels)

    def test_one_row_per_run_and_nothing_fetched(self):
        page = self.write_report(FIXTURE, FIXTURE)
        self.assertEqual(sorted(RUN_ROW.findall(page)), ["0"] * 3 + ["1"] * 3)
        self.assertIsNone(re.search(r'(src|href)="(https?:)?//', page))
        self.assertIn("Side by side", page)

    def test_figures_come_with_their_side_file_captions(self):
        figures = os.path.join(self.tmp, "figures")
        os.makedirs(figures)
        for name in ("attempts.png", "attempts_extra.png", "threads.png"):
            with open(os.path.join(figures, name), "wb") as f:
                f.write(PNG)
        with open(os.path.join(figures, "attempts.caption.md"), "w", encoding="utf-8") as f:
            f.write("**Failed attempts per update?**\n\n<median> of 2 repetitions.\n")
        page = self.write_report(FIXTURE, "--figures", figures)
        self.assertEqual(page.count('<img src="data:image/png;base64,'), 2)  # not threads.png
        self.assertIn("<p><strong>Failed attempts per update?</strong></p>", page)
        self.assertIn("<p>&lt;median&gt; of 2 repetitions.</p>", page)

    def test_run_documents_are_one_source(self):
        docs = sorted(os.path.join(FIXTURE, f) for f in os.listdir(FIXTURE)
                      if f.endswith(".json") and f != "sweep.json")
        page = self.write_report(*docs)
        self.assertIn(f"{len(docs)} run document(s)", page)
        self.assertEqual(RUN_ROW.findall(page), ["0"] * len(docs))

    def test_bad_input_is_exit_two(self):
        out = os.path.join(self.tmp, "bad.html")
        not_a_run = os.path.join(self.tmp, "x.json")
        with open(not_a_run, "w", encoding="utf-8") as f:
            f.write('{"something": "else"}')
        for args in ([self.tmp], [os.path.join(FIXTURE, "index.csv")], [not_a_run]):
            with contextlib.redirect_stderr(io.StringIO()) as err:
                self.assertEqual(report.main([*args, "--out", out]), 2, args)
            self.assertEqual(len(err.getvalue().splitlines()), 1, err.getvalue())
        self.assertFalse(os.path.exists(out))

    def test_malformed_sweep_files_are_one_line_and_exit_two(self):
        out = os.path.join(self.tmp, "bad.html")
        for broken in ("index.csv", "sweep.json"):
            folder = os.path.join(self.tmp, "broken-" + broken)
            shutil.copytree(FIXTURE, folder)
            path = os.path.join(folder, broken)
            if broken == "index.csv":  # the run_id column renamed: rows without their key
                with open(path, encoding="utf-8") as f:
                    text = f.read()
                text = text.replace("run_id", "rid", 1)
            else:
                text = "{bad"
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            with contextlib.redirect_stderr(io.StringIO()) as err:
                self.assertEqual(report.main([folder, "--out", out]), 2, broken)
            self.assertEqual(len(err.getvalue().splitlines()), 1, err.getvalue())
        self.assertFalse(os.path.exists(out))

    def test_a_superseded_build_counts_its_runs_only(self):
        build = os.path.join(self.tmp, "superseded", "b1")
        os.makedirs(build)
        for name in ("r0.json", "r1.json", "r1.2.json", "sweep.json"):
            with open(os.path.join(build, name), "w", encoding="utf-8") as f:
                f.write("{}")
        self.assertEqual(report_sources._run_documents_in(build), 2)

    def test_cells_show_four_significant_digits(self):
        self.assertEqual(report.display("0.84513636"), "0.8451")
        self.assertEqual(report.display("128"), "128")
        self.assertEqual(report.display("inf"), "inf")
        self.assertEqual(report.display("mutex"), "mutex")


if __name__ == "__main__":
    unittest.main()
