"""The A/B job end to end on fake builds (fake_build.py: processes that sleep a fixed or scaled
time): ab.py pairs and interleaves real processes, flags a 2x slower build, passes an identical
one, names a changed exact loss and refuses bad input with exit 2. Tests the pairing and the
verdicts, not the timings: a 2x effect stands far above the scheduling noise of 40 ms sleeps."""

import json
import os
import stat
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
AB = os.path.join(os.path.dirname(HERE), "ab.py")
FAKE = os.path.join(HERE, "fake_build.py")
SCHEMA = os.path.join(os.path.dirname(HERE), "ab.schema.json")


def validate(doc):
    """The document against experiments/nightly/ab.schema.json (python3-jsonschema, which
    `make test-deps` installs; without it only the tests' own checks run)."""
    try:
        import jsonschema
    except ImportError:
        return
    with open(SCHEMA, encoding="utf-8") as f:
        jsonschema.validate(doc, json.load(f))


def fake_build(folder, scale, loss=0.25):
    """A folder of fake binaries, each `fake_build.py --scale S --loss L --role R`."""
    os.makedirs(folder)
    for name, role in (("psgd", "psgd"), ("psgd_models_bench", "bench"),
                       ("psgd_algorithms_bench", "bench")):
        path = os.path.join(folder, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write('#!/bin/sh\nexec %s %s --scale %r --loss %r --role %s "$@"\n'
                    % (sys.executable, FAKE, scale, loss, role))
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    return folder


class AbEndToEnd(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.a = fake_build(os.path.join(self.tmp.name, "a"), 1.0)

    def ab(self, b_dir, *extra):
        out = os.path.join(self.tmp.name, "ab-%d.json" % len(os.listdir(self.tmp.name)))
        # One micro probe (the models binary; the algorithms one is skipped by its empty
        # filter) and one one-thread end-to-end probe; loads never disturb the verdict.
        done = subprocess.run(
            [sys.executable, AB, "--a-dir", self.a, "--b-dir", b_dir, "--quick", "--micro",
             "BM_Fake,", "--e2e", "seq:1", "--load-change", "1000", "--out", out, *extra],
            capture_output=True, text=True, timeout=120)
        doc = None
        if os.path.exists(out):
            with open(out, encoding="utf-8") as f:
                doc = json.load(f)
            validate(doc)
        return done, doc

    def verdicts(self, doc):
        return {r["name"]: r["verdict"] for r in doc["verdict"]["rows"]}

    def test_a_twice_slower_build_is_flagged_and_the_pairs_interleave(self):
        # 8 pairs: the fewest whose [min, max] covers at 95% for a family of up to 6 series.
        done, doc = self.ab(fake_build(os.path.join(self.tmp.name, "slow"), 2.0), "--pairs", "8")
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertEqual(doc["verdict"]["status"], "REGRESSION")
        v = self.verdicts(doc)
        self.assertEqual(v["micro/models/BM_Fake/manual_time"], "slower")
        self.assertEqual(v["e2e/seq/t1/updates_per_second"], "slower")
        for row in doc["verdict"]["rows"]:
            self.assertEqual(row["pairs"], 8)
            self.assertGreater(row["slowdown_low"], 0.1)  # far above the 2% floor
        for probe in doc["settings"]["probes"]:
            sides = [s["side"] for s in doc["schedule"] if s["probe"] == probe]
            self.assertEqual("".join(sides), "ABBAABBAABBAABBA")
        self.assertIn("REGRESSION", done.stdout)
        self.assertEqual(doc["settings"]["probes"], ["micro/models", "e2e/seq/t1"])
        # Which builds were measured is in the document and, where their flags differ, the report.
        self.assertIn("-fake-scale=2", doc["builds"]["B"]["version"])
        with open(os.path.splitext(self.last_out())[0] + ".md", encoding="utf-8") as f:
            report = f.read()
        self.assertIn("| micro/models/BM_Fake/manual_time |", report)
        self.assertIn("flags differ: A -O2 -fake-scale=1; B -O2 -fake-scale=2", report)

    def last_out(self):
        return sorted(os.path.join(self.tmp.name, n) for n in os.listdir(self.tmp.name)
                      if n.endswith(".json"))[-1]

    def test_an_identical_build_is_not_flagged(self):
        done, doc = self.ab(fake_build(os.path.join(self.tmp.name, "same"), 1.0), "--pairs", "8")
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertEqual(doc["verdict"]["status"], "PASS")
        self.assertEqual(set(self.verdicts(doc).values()), {"same"})

    def test_too_few_pairs_for_the_family_exit_2_and_keep_the_documents(self):
        # 6 pairs judge a family of one series at most: this run's several are not judged.
        done, doc = self.ab(fake_build(os.path.join(self.tmp.name, "few"), 1.0), "--pairs", "6")
        self.assertEqual(done.returncode, 2, done.stdout + done.stderr)
        self.assertIn("too few pairs", done.stderr)
        self.assertIn("(--pairs 6)", done.stderr)
        self.assertEqual(set(self.verdicts(doc).values()), {"too few pairs"})

    def test_a_changed_loss_is_named_even_when_not_slower(self):
        b = fake_build(os.path.join(self.tmp.name, "changed"), 1.0, loss=0.2500000001)
        done, doc = self.ab(b, "--pairs", "6")
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertEqual(doc["verdict"]["status"], "CHANGED")
        checks = {c["name"]: c["verdict"] for c in doc["verdict"]["checks"]}
        self.assertEqual(checks["e2e/seq/t1/final_train_loss"], "CHANGED")
        self.assertEqual(checks["e2e/seq/t1/final_test_accuracy"], "unchanged")

    def test_bad_input_is_one_line_and_exit_2(self):
        for extra, says in ((["--pairs", "5"], "--pairs must be in 6..1000"),
                            (["--min-effect", "-1"], "--min-effect must be in"),
                            (["--e2e", "seq:x"], "--e2e must be 'none' or ALGO:THREADS")):
            done, doc = self.ab(self.a, *extra)
            self.assertEqual(done.returncode, 2, extra)
            self.assertIn(says, done.stderr)
            self.assertEqual(len(done.stderr.strip().splitlines()), 1, done.stderr)
            self.assertIsNone(doc)
        done = subprocess.run([sys.executable, AB, "--against", "no-such-revision-i29",
                               "--pairs", "6"], capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 2)
        self.assertIn("AGAINST=no-such-revision-i29 is not a commit", done.stderr)


if __name__ == "__main__":
    unittest.main()
