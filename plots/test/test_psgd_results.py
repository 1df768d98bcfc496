"""Tests of plots/psgd_results.py (the loader) and plots/export_csv.py on a committed fixture.

The fixture (plots/test/data/sweep) is a real sweep folder cut down to three runs of
experiments/attempts.json's quick scale: mutex with the OS lock at 2 threads, leashed at 4
threads (oversubscribed on the 2-core machine it ran on) and a crashed hogwild-atomic run (the
document `psgd sweep` records for a child killed by a signal: no metrics, no histograms). The
tests assert invariants that hold for any sweep (counts add up, keys match, nothing is dropped),
read from the run documents themselves, never hard-coded measurements.

Run: /usr/bin/python3 -m unittest discover -s plots/test -v   (ctest: PlotsLoader, label unit)
"""

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PLOTS = os.path.dirname(HERE)
FIXTURE = os.path.join(HERE, "data", "sweep")
sys.path.insert(0, os.path.dirname(PLOTS))  # the package `plots`, wherever the test runs from

try:
    import pandas  # noqa: F401  (only whether it is there)

    MISSING = None
except ImportError:
    MISSING = "psgd_results: pandas is missing (`make plots-deps`): the loader tests are skipped"
    print(MISSING)

if MISSING is None:
    from plots import psgd_results


def fixture_docs():
    """{run_id: document} read directly with json, independently of the loader."""
    out = {}
    with open(os.path.join(FIXTURE, "index.csv"), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            with open(os.path.join(FIXTURE, row["file"]), encoding="utf-8") as d:
                out[row["run_id"]] = json.load(d)
    return out


@unittest.skipIf(MISSING is not None, MISSING)
class BuildsTest(unittest.TestCase):
    """A sweep folder keeps the results a newer build replaced under superseded/<build id>/,
    indexed like the folder itself: each build reads alone, and all of them with a build column."""

    def test_superseded_builds_read_side_by_side(self):
        with tempfile.TemporaryDirectory() as tmp:
            folder = os.path.join(tmp, "sweep")
            shutil.copytree(FIXTURE, folder)
            old = os.path.join(folder, "superseded", "0123456789abcdef")
            shutil.copytree(FIXTURE, old)
            os.makedirs(os.path.join(folder, "superseded", "not-indexed"))
            self.assertEqual(
                psgd_results.builds(folder), {"current": folder, "0123456789abcdef": old}
            )
            alone = psgd_results.load_sweep(old)
            self.assertEqual(sorted(alone["run_id"]), sorted(fixture_docs()))
            both = psgd_results.load_builds(folder)
            self.assertEqual(len(both), 2 * len(alone))
            self.assertEqual(
                sorted(set(both["build"])), ["0123456789abcdef", "current"]
            )
            for build, file in zip(both["build"], both["file"]):
                self.assertTrue(os.path.exists(os.path.join(folder, file)), (build, file))
                self.assertEqual(file.startswith("superseded"), build != "current")


@unittest.skipIf(MISSING is not None, MISSING)
class LoadSweepTest(unittest.TestCase):
    def test_one_row_per_index_row_with_method_and_finished(self):
        runs = psgd_results.load_sweep(FIXTURE)
        docs = fixture_docs()
        self.assertEqual(sorted(runs["run_id"]), sorted(docs))
        by_id = runs.set_index("run_id")
        for run_id, doc in docs.items():
            self.assertEqual(by_id.loc[run_id, "status"], doc["status"])
            self.assertEqual(bool(by_id.loc[run_id, "finished"]), doc["status"] != "crashed")
        self.assertEqual(
            sorted(runs["method"]), ["hogwild-atomic", "leashed", "mutex (os lock)"]
        )

    def test_numbers_are_numeric_and_empty_cells_nan(self):
        runs = psgd_results.load_sweep(FIXTURE)
        self.assertTrue(pandas.api.types.is_integer_dtype(runs["threads"]))
        self.assertTrue(pandas.api.types.is_float_dtype(runs["samples_per_second"]))
        crashed = runs[runs["status"] == "crashed"].iloc[0]
        self.assertTrue(pandas.isna(crashed["samples_per_second"]))
        oversubscribed = dict(zip(runs["run_id"], runs["oversubscribed"]))
        for run_id, doc in fixture_docs().items():
            self.assertEqual(oversubscribed[run_id], bool(doc.get("oversubscribed")))

    def test_absent_and_extra_columns_and_new_status_words(self):
        """A sweep of another psgd version: a column missing, new ones, another status word."""
        with tempfile.TemporaryDirectory() as tmp:
            folder = os.path.join(tmp, "sweep")
            shutil.copytree(FIXTURE, folder)
            index = os.path.join(folder, "index.csv")
            with open(index, newline="", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
            for row in rows:
                del row["staleness_p99"]
                row["persistence"] = "inf" if row["threads"] == "4" else "2"
                row["time_to_accuracy_80pct"] = ""
                row["reached_50pct"] = "true"
                if row["status"] == "not_converged":
                    row["status"] = "reached"
            with open(index, "w", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(f, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
            runs = psgd_results.load_sweep(folder)
            self.assertIn("staleness_p99", runs.columns)
            self.assertTrue(runs["staleness_p99"].isna().all())
            self.assertIn("time_to_accuracy_80pct", runs.columns)
            self.assertEqual(int(runs["finished"].sum()), 2)
            self.assertEqual(sorted(runs["persistence"]), [2.0, float("inf"), float("inf")])
            self.assertEqual(len(psgd_results.series(folder)), len(psgd_results.series(FIXTURE)))

    def test_ranks_is_one_without_the_column_and_read_where_written(self):
        """A sweep of processes of one rank has no ranks column: it reads as 1; a sweep across
        ranks writes it (psgd sweep, a spec with `ranks`), and its values are read as numbers."""
        self.assertEqual(set(psgd_results.load_sweep(FIXTURE)["ranks"]), {1})
        with tempfile.TemporaryDirectory() as tmp:
            folder = os.path.join(tmp, "sweep")
            shutil.copytree(FIXTURE, folder)
            index = os.path.join(folder, "index.csv")
            with open(index, newline="", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
            for i, row in enumerate(rows):
                row["ranks"] = str(i + 2)
            with open(index, "w", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(f, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
            runs = psgd_results.load_sweep(folder)
            self.assertEqual(list(runs["ranks"]), list(range(2, len(rows) + 2)))
            self.assertIn("ranks", psgd_results.histograms(folder).columns)

    def test_not_a_sweep_is_one_clear_exit(self):
        with tempfile.TemporaryDirectory() as tmp:
            with self.assertRaises(SystemExit) as raised:
                psgd_results.load_sweep(tmp)
            self.assertIn("index.csv not found", str(raised.exception))


@unittest.skipIf(MISSING is not None, MISSING)
class HistogramsTest(unittest.TestCase):
    def test_counts_add_up_per_run_and_per_worker(self):
        hist = psgd_results.histograms(FIXTURE)
        for run_id, doc in fixture_docs().items():
            mine = hist[hist["run_id"] == run_id]
            if doc["status"] == "crashed":
                self.assertTrue(mine.empty)
                continue
            staleness = mine[mine["histogram"] == "staleness"]
            whole = staleness[staleness["worker"] == -1]["count"].sum()
            workers = staleness[staleness["worker"] >= 0]
            self.assertEqual(whole, doc["staleness"]["count"])
            self.assertEqual(workers["count"].sum(), whole)
            self.assertEqual(workers["worker"].nunique(), len(doc["staleness"]["per_worker"]))
            attempts = mine[mine["histogram"] == "failed_attempts"]["count"].sum()
            self.assertEqual(attempts, doc["updates"]["applied"])

    def test_overflow_is_a_row_at_k_bins(self):
        doc = {"staleness": {"bins": 4, "histogram": [5, 0, 1], "overflow": 2, "count": 8}}
        rows = psgd_results.histogram_rows(doc)
        self.assertIn(("staleness", -1, 4, 2, True), rows)
        self.assertEqual(sum(n for *_, n, _ in rows), 8)

    def test_rows_carry_the_run_identity(self):
        hist = psgd_results.histograms(FIXTURE)
        runs = psgd_results.load_sweep(FIXTURE).set_index("run_id")
        for run_id, group in hist.groupby("run_id"):
            self.assertEqual(set(group["method"]), {runs.loc[run_id, "method"]})
            self.assertEqual(set(group["threads"]), {runs.loc[run_id, "threads"]})


@unittest.skipIf(MISSING is not None, MISSING)
class SeriesAndRunTest(unittest.TestCase):
    def test_one_row_per_snapshot_in_time_order(self):
        series = psgd_results.series(FIXTURE)
        for run_id, doc in fixture_docs().items():
            mine = series[series["run_id"] == run_id]
            self.assertEqual(len(mine), len(doc.get("series") or []))
            self.assertTrue(mine["seconds"].is_monotonic_increasing)
            if len(mine):
                self.assertEqual(list(mine["updates"]), [p["updates"] for p in doc["series"]])

    def test_runs_frame_flattens_scalars(self):
        docs = fixture_docs()
        frame = psgd_results.runs_frame(docs.values())
        self.assertEqual(len(frame), len(docs))
        self.assertIn("throughput.samples_per_second", frame.columns)
        self.assertNotIn("series", frame.columns)


@unittest.skipIf(MISSING is not None, MISSING)
class EfficiencyTest(unittest.TestCase):
    def test_passes_at_the_snapshot_that_reached_each_target(self):
        split = psgd_results.efficiency(FIXTURE)
        checked = 0
        for run_id, doc in fixture_docs().items():
            metrics = doc.get("metrics") or {}
            points = doc.get("series") or []
            mine = split[(split["run_id"] == run_id) & (split["kind"] == "epsilon")]
            self.assertEqual(set(mine["target"]), set(metrics.get("time_to_epsilon") or {}))
            for row in mine.itertuples():
                seconds = metrics["time_to_epsilon"][row.target]
                if seconds is None:  # not reached: no passes to it
                    self.assertTrue(row.passes_to_target != row.passes_to_target)
                    continue
                at = metrics["updates_to_epsilon"][row.target]
                epoch = next(p["epoch"] for p in points if p["updates"] == at)
                self.assertEqual(row.passes_to_target, epoch)
                # The identity, exact up to the seconds per pass before that snapshot: the
                # snapshot's own seconds over its own passes.
                snapshot = next(p for p in points if p["updates"] == at)
                self.assertAlmostEqual(row.time_to_target,
                                       row.passes_to_target * snapshot["seconds"] / epoch)
                checked += 1
            if points and metrics.get("wall_seconds") is not None and points[-1]["epoch"]:
                self.assertTrue((mine["seconds_per_pass"]
                                 == metrics["wall_seconds"] / points[-1]["epoch"]).all())
        self.assertGreater(checked, 0, "the fixture has reached targets")


@unittest.skipIf(MISSING is not None, MISSING)
class ExportCsvTest(unittest.TestCase):
    def test_export_writes_what_the_loader_reads(self):
        with tempfile.TemporaryDirectory() as out:
            result = subprocess.run(
                [sys.executable, os.path.join(PLOTS, "export_csv.py"), FIXTURE, out],
                capture_output=True, text=True, check=False,
            )
            self.assertEqual(result.returncode, 0, result.stderr)
            expected = {
                "runs": len(psgd_results.load_sweep(FIXTURE)),
                "histograms": len(psgd_results.histograms(FIXTURE)),
                "series": len(psgd_results.series(FIXTURE)),
            }
            for name, rows in expected.items():
                frame = pandas.read_csv(os.path.join(out, name + ".csv"))
                self.assertEqual(len(frame), rows, name)
                self.assertIn("run_id", frame.columns)

    def test_not_a_sweep_exits_1_with_one_line(self):
        with tempfile.TemporaryDirectory() as tmp:
            result = subprocess.run(
                [sys.executable, os.path.join(PLOTS, "export_csv.py"), tmp, tmp],
                capture_output=True, text=True, check=False,
            )
            self.assertEqual(result.returncode, 1)
            self.assertEqual(len(result.stderr.strip().splitlines()), 1)


@unittest.skipIf(MISSING is not None, MISSING)
class FiguresFromFixtureTest(unittest.TestCase):
    """The figure scripts of algo x threads sweeps draw from the fixture, its crashed run
    included (counted in the caption, not an error)."""

    def test_scripts_draw(self):
        with tempfile.TemporaryDirectory() as out:
            for name in ("attempts", "threads"):
                result = subprocess.run(
                    [sys.executable, os.path.join(PLOTS, name + ".py"), "--results", FIXTURE,
                     "--out", out],
                    capture_output=True, text=True, check=False,
                )
                self.assertEqual(result.returncode, 0, name + ": " + result.stderr[-2000:])
                self.assertGreater(os.path.getsize(os.path.join(out, name + ".png")), 1000)


if __name__ == "__main__":
    unittest.main()
