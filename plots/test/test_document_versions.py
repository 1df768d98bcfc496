"""The loader reads run documents and index.csv files of every schema version alike.

Schema 3 spells the `config` keys in snake_case with no null, and index.csv names the mean of the
failed-attempts histogram `failed_attempts_per_update_mean`; documents and sweeps written before
(the committed examples) must load as the same columns, with true/false cells as booleans and
numbers as numbers. The schema-3 document (data/run-schema3.json) was written by
`psgd run --dataset synthetic-dense:1024x16x4 --model mlp:8 --algo hogwild --threads 1 --batch 16
--epochs 0.5 --checkpoints 2 --out plots/test/data/run-schema3.json`.

Run: /usr/bin/python3 -m unittest discover -s plots/test -v   (ctest: PlotsLoader, label unit)
"""

import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PLOTS = os.path.dirname(HERE)
ROOT = os.path.dirname(PLOTS)
sys.path.insert(0, ROOT)  # the package `plots`, wherever the test runs from
NEW = os.path.join(HERE, "data", "run-schema3.json")
OLD_SWEEP = os.path.join(ROOT, "results", "examples", "threads-quick")
OLD = os.path.join(OLD_SWEEP, "algo-hogwild_placement-compact_threads-1__r0-2fcb02.json")

try:
    import pandas

    MISSING = None
except ImportError:
    MISSING = "psgd_results: pandas is missing (`make plots-deps`): the loader tests are skipped"
    print(MISSING)

if MISSING is None:
    from plots import psgd_results


def raw(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


@unittest.skipIf(MISSING is not None, MISSING)
class DocumentVersionsTest(unittest.TestCase):
    def test_fixtures_are_the_versions_they_stand_for(self):
        self.assertLess(raw(OLD)["schema_version"], 3)
        self.assertIn("batch-order", raw(OLD)["config"])
        self.assertEqual(raw(NEW)["schema_version"], 3)
        self.assertIn("batch_order", raw(NEW)["config"])

    def test_old_and_new_documents_load_as_the_same_columns(self):
        old, new = psgd_results.load_run(OLD), psgd_results.load_run(NEW)
        self.assertEqual(old["schema_version"], 3)
        self.assertEqual(old["source_schema_version"], raw(OLD)["schema_version"])
        for doc in (old, new):
            self.assertTrue(all("-" not in key for key in doc["config"]))
            self.assertNotIn(None, doc["config"].values())
        # Every option the old psgd had is a column of the new document under the same name
        # (the new psgd has options the old one lacked).
        frames = {name: psgd_results.runs_frame([doc]) for name, doc in
                  (("old", old), ("new", new))}
        old_config = {c for c in frames["old"].columns if c.startswith("config.")}
        new_config = {c for c in frames["new"].columns if c.startswith("config.")}
        self.assertGreater(len(old_config), 40)
        self.assertEqual(old_config - new_config, set())
        # Real booleans and numbers in both.
        for name, frame in frames.items():
            reached = [c for c in frame.columns if c.startswith("metrics.epsilon_reached.")]
            self.assertEqual(len(reached), 3, name)
            for column in reached + ["oversubscribed", "config.raw_pixels"]:
                self.assertEqual(frame[column].dtype, bool, f"{name}: {column}")
            for column in ("config.batch", "config.step", "config.epochs", "config.seed",
                           "metrics.final_train_loss", "throughput.samples_per_second"):
                self.assertTrue(pandas.api.types.is_numeric_dtype(frame[column]),
                                f"{name}: {column}")
            self.assertEqual(frame["config.time_limit"].iloc[0], "none", name)

    def test_old_index_reads_with_booleans_and_the_new_column_name(self):
        runs = psgd_results.load_sweep(OLD_SWEEP)
        self.assertIn("failed_attempts_per_update_mean", runs.columns)
        self.assertNotIn("failed_attempts_per_update", runs.columns)
        self.assertTrue(pandas.api.types.is_numeric_dtype(runs["failed_attempts_per_update_mean"]))
        reached = [c for c in runs.columns if c.startswith("epsilon_reached_")]
        self.assertEqual(len(reached), 3)
        for column in reached + ["oversubscribed"]:
            self.assertEqual(runs[column].dtype, bool, column)
        # The booleans say what the cells said.
        with open(os.path.join(OLD_SWEEP, "index.csv"), encoding="utf-8") as f:
            header = f.readline().strip().split(",")
            first = f.readline().strip().split(",")
        cell = dict(zip(header, first))["epsilon_reached_50pct"]
        self.assertEqual(bool(runs["epsilon_reached_50pct"].iloc[0]), cell == "true")


if __name__ == "__main__":
    unittest.main()
