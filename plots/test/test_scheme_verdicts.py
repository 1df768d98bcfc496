"""Tests of plots/scheme_verdicts.py: the spread it prints and the accuracy it reads at a time.

Invariants on small hand-made documents: the median lies inside the printed range, missing
values are skipped, and the accuracy at a time is that of the last snapshot not after it.

Run: /usr/bin/python3 -m unittest discover -s plots/test -v   (ctest: PlotsLoader, label unit)
"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))  # the package `plots`

from plots import missing_modules  # noqa: E402

MISSING = "pandas is missing" if missing_modules.missing(("pandas",)) else None
if MISSING is None:
    from plots import scheme_verdicts


@unittest.skipIf(MISSING, MISSING or "")
class SchemeVerdictsTest(unittest.TestCase):
    def test_spread_median_and_range(self):
        self.assertEqual(scheme_verdicts.spread([0.3, 0.1, 0.2], "{:.1f}"), "0.2 (0.1..0.3)")
        self.assertEqual(scheme_verdicts.spread([0.1, 0.4], "{:.2f}"), "0.25 (0.10..0.40)")

    def test_spread_skips_missing_values(self):
        self.assertEqual(scheme_verdicts.spread([None, float("nan"), 2.0], "{:.0f}"), "2")
        self.assertEqual(scheme_verdicts.spread([None], "{:.0f}"), "-")

    def test_accuracy_at_takes_the_last_snapshot_not_after_the_time(self):
        doc = {"series": [{"seconds": 0.0, "test_accuracy": 0.1},
                          {"seconds": 1.0, "test_accuracy": 0.5},
                          {"seconds": 2.0, "test_accuracy": 0.7}]}
        self.assertEqual(scheme_verdicts.accuracy_at(doc, 1.5), 0.5)
        self.assertEqual(scheme_verdicts.accuracy_at(doc, 2.0), 0.7)
        self.assertIsNone(scheme_verdicts.accuracy_at({"series": []}, 1.0))

    def test_time_to_takes_the_first_snapshot_at_or_above(self):
        doc = {"series": [{"seconds": 0.0, "test_accuracy": 0.1},
                          {"seconds": 1.0, "test_accuracy": 0.8},
                          {"seconds": 2.0, "test_accuracy": 0.7}]}
        self.assertEqual(scheme_verdicts.time_to(doc, 0.8), 1.0)
        self.assertIsNone(scheme_verdicts.time_to(doc, 0.9))

    def test_lost_fraction_from_the_work_block(self):
        doc = {"work": {"gradients": 200, "lost": {"total": 10}}}
        self.assertAlmostEqual(scheme_verdicts._lost_fraction(doc), 0.05)
        self.assertIsNone(scheme_verdicts._lost_fraction({"updates": {}}))


if __name__ == "__main__":
    unittest.main()
