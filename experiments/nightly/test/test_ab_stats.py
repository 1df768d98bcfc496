"""Unit tests of the A/B job's statistics, pairing and load guard on fixed numbers
(experiments/nightly/ab_stats.py, ab_measure.py, ab_report.py); no process, no clock."""

import math
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import ab_measure  # noqa: E402
import ab_report  # noqa: E402
import ab_stats  # noqa: E402


class SignTestInterval(unittest.TestCase):
    def test_ranks_and_coverage_are_the_binomial_ones(self):
        self.assertEqual(ab_stats.sign_test_rank(5, 0.95), (0, 0.0))  # 1 - 2/32 = 0.9375
        k, cov = ab_stats.sign_test_rank(6, 0.95)
        self.assertEqual(k, 1)
        self.assertAlmostEqual(cov, 1 - 2 / 64)
        k, cov = ab_stats.sign_test_rank(10, 0.95)
        self.assertEqual(k, 2)
        self.assertAlmostEqual(cov, 1 - 2 * 11 / 1024)
        self.assertEqual(ab_stats.min_pairs(0.95), 6)
        self.assertEqual(ab_stats.min_pairs(0.99), 8)

    def test_median_ratio_and_interval_of_fixed_pairs(self):
        a = [100.0] * 10
        b = [101, 103, 104, 105, 106, 107, 108, 109, 110, 130]  # one outlier pair
        row = ab_stats.analyse(a, b, higher_is_better=False, min_effect=0.02)
        self.assertAlmostEqual(row["ratio"], math.sqrt(1.06 * 1.07))
        self.assertAlmostEqual(row["low"], 1.03)  # k = 2: the second smallest
        self.assertAlmostEqual(row["high"], 1.10)  # and the second largest: the outlier is out
        self.assertEqual(row["verdict"], ab_stats.SLOWER)  # 3% > 2%, the whole interval beyond
        # The far side reaches 1.065 / 1.03 from the median: a shift must clear 2% on top.
        self.assertAlmostEqual(row["detectable"], 1.02 * row["ratio"] / 1.03 - 1)
        row = ab_stats.analyse(a, b, higher_is_better=False, min_effect=0.05)
        self.assertEqual(row["verdict"], ab_stats.SAME)  # 1.03 is not wholly beyond 5%

    def test_a_rate_that_drops_is_a_slowdown(self):
        a = [1000.0] * 6
        b = [900, 905, 910, 895, 890, 902]
        row = ab_stats.analyse(a, b, higher_is_better=True, min_effect=0.05)
        self.assertLess(row["ratio"], 1)
        self.assertGreater(row["slowdown_low"], 0)
        self.assertEqual(row["verdict"], ab_stats.SLOWER)
        row = ab_stats.analyse(b, a, higher_is_better=True, min_effect=0.05)
        self.assertEqual(row["verdict"], ab_stats.FASTER)

    def test_a_consistent_but_small_difference_is_the_same(self):
        row = ab_stats.analyse([100.0] * 6, [102.0, 102, 102, 102, 102, 102], False, 0.05)
        self.assertGreater(row["slowdown_low"], 0)  # significant,
        self.assertEqual(row["verdict"], ab_stats.SAME)  # but under the minimum effect
        row = ab_stats.analyse([100.0] * 6, [101.9, 102, 103, 104, 105, 106], False, 0.02)
        self.assertGreater(row["slowdown"], 0.02)  # a median beyond it is not enough:
        self.assertEqual(row["verdict"], ab_stats.SAME)  # the interval starts at 1.9%
        row = ab_stats.analyse([100.0] * 6, [102.1, 102, 103, 104, 105, 106], False, 0.02)
        self.assertEqual(row["verdict"], ab_stats.SLOWER)

    def test_an_interval_across_one_is_the_same_however_large_the_median(self):
        row = ab_stats.analyse([100.0] * 6, [90.0, 120, 125, 130, 135, 140], False, 0.05)
        self.assertGreater(row["slowdown"], 0.2)
        self.assertLess(row["slowdown_low"], 0)
        self.assertEqual(row["verdict"], ab_stats.SAME)

    def test_too_few_pairs_are_not_judged(self):
        row = ab_stats.analyse([1.0] * 5, [2.0] * 5, False)
        self.assertEqual(row["verdict"], ab_stats.TOO_FEW)
        self.assertIsNone(row["detectable"])

    def test_unpaired_or_bad_values_are_refused(self):
        with self.assertRaises(ValueError):
            ab_stats.paired_ratios([1.0, 2.0], [1.0])
        with self.assertRaises(ValueError):
            ab_stats.paired_ratios([1.0, 0.0], [1.0, 1.0])
        with self.assertRaises(ValueError):
            ab_stats.paired_ratios([1.0, float("nan")], [1.0, 1.0])

    def test_exact_checks(self):
        self.assertEqual(ab_stats.exact_check([0.25, 0.25], [0.25, 0.25]), "unchanged")
        self.assertEqual(ab_stats.exact_check([0.25, 0.25], [0.25, 0.2500000001]), "CHANGED")
        self.assertEqual(ab_stats.exact_check([0.25, 0.26], [0.25, 0.25]), "CHANGED")


def same_vs_same_family(n_series, pairs):
    """Samples of n_series distinct benchmarks (times), each B/A within 1% of 1, no two series
    alike: a run of a build against itself."""
    samples = {}
    for j in range(n_series):
        b = [100.0 * (1 + 0.001 * ((i * 7) % 11 - 5)) * (1 + 1e-5 * j) for i in range(pairs)]
        samples["bench%02d" % j] = {"unit": "us", "higher_is_better": False,
                                    "A": [100.0] * pairs, "B": b}
    return samples


class Family(unittest.TestCase):
    """The intervals of one run are simultaneous (Bonferroni over its distinct series)."""

    def test_levels_and_the_pairs_they_need(self):
        self.assertAlmostEqual(ab_stats.family_confidence(0.95, 10), 0.995)
        self.assertAlmostEqual(ab_stats.family_confidence(0.95, 1), 0.95)
        self.assertEqual(ab_stats.min_pairs(0.95, 5), 8)  # 2 x 2^-8 <= 0.01 < 2 x 2^-7
        self.assertEqual(ab_stats.min_pairs(0.95, 63), 12)  # 2 x 2^-12 <= 0.05 / 63
        # 16 pairs at the 63 series of a default run: [x_(2), x_(15)], coverage 1 - 2 x 17/2^16.
        k, cov = ab_stats.sign_test_rank(16, ab_stats.family_confidence(0.95, 63))
        self.assertEqual(k, 2)
        self.assertAlmostEqual(cov, 1 - 2 * 17 / 2 ** 16)

    def test_series_equal_in_every_ratio_count_once(self):
        rate = [1.0, 0.98, 1.03]
        self.assertEqual(ab_stats.family_size([rate, [r * 1.0 for r in rate]]), 1)
        self.assertEqual(ab_stats.family_size([rate, [1.0, 0.98, 1.031], [1.0, 1.0, 1.0]]), 3)
        # A step's GFLOP/s is its samples/s times a constant: the same ratios, one test.
        a, b = [1000.0, 1100.0, 900.0], [990.0, 1120.0, 910.0]
        flops = 6 * 134794.0
        self.assertEqual(ab_stats.family_size([
            ab_stats.paired_ratios(a, b),
            ab_stats.paired_ratios([x * flops for x in a], [x * flops for x in b])]), 1)

    def test_a_chance_run_flagged_alone_is_not_flagged_in_its_family(self):
        # 14 of 16 pairs 4% slower, 2 a little faster: alone, the 95% interval [x_(4), x_(13)]
        # lies wholly beyond 2%; among 20 series each interval is [x_(2), x_(15)] and reaches 0.99.
        pairs = 16
        samples = same_vs_same_family(19, pairs)
        samples["lucky"] = {"unit": "us", "higher_is_better": False, "A": [100.0] * pairs,
                            "B": [104.0] * 14 + [99.0, 99.5]}
        v = ab_report.judge(samples, {}, [], min_effect=0.02, confidence=0.95, load_change=3.0)
        self.assertEqual(v["family_size"], 20)
        self.assertAlmostEqual(v["benchmark_confidence"], 1 - 0.05 / 20)
        rows = {r["name"]: r for r in v["rows"]}
        self.assertAlmostEqual(rows["lucky"]["low"], 0.995)
        self.assertEqual({r["verdict"] for r in v["rows"]}, {ab_stats.SAME})
        self.assertEqual(v["status"], "PASS")
        alone = ab_report.judge({"lucky": samples["lucky"]}, {}, [], 0.02, 0.95, 3.0)
        self.assertEqual(alone["family_size"], 1)
        self.assertEqual(alone["rows"][0]["verdict"], ab_stats.SLOWER)
        self.assertEqual(alone["status"], "REGRESSION")

    def test_a_ten_percent_slowdown_is_caught_among_63_series(self):
        pairs = 16
        samples = same_vs_same_family(62, pairs)
        # The MLP step's rate 10% lower, by 7-13% in 15 pairs, and one outlier pair at 1.0.
        rate = [1000.0 / (1.10 + 0.015 * ((i % 5) - 2)) for i in range(pairs - 1)]
        samples["mlp/samples_per_second"] = {"unit": "samples/s", "higher_is_better": True,
                                             "A": [1000.0] * pairs, "B": rate + [1000.0]}
        v = ab_report.judge(samples, {}, [], min_effect=0.02, confidence=0.95, load_change=3.0)
        self.assertEqual(v["family_size"], 63)
        rows = {r["name"]: r for r in v["rows"]}
        mlp = rows.pop("mlp/samples_per_second")
        self.assertEqual(mlp["verdict"], ab_stats.SLOWER)
        self.assertAlmostEqual(mlp["slowdown_low"], 1.07 - 1)  # x_(15) of the rates: 1/1.07
        self.assertEqual({r["verdict"] for r in rows.values()}, {ab_stats.SAME})
        self.assertEqual(v["status"], "REGRESSION")

    def test_too_few_pairs_for_the_family_judge_nothing_and_say_so(self):
        samples = same_vs_same_family(63, 10)  # 63 series need 12 pairs
        samples["bench00"]["B"] = [200.0] * 10
        v = ab_report.judge(samples, {}, [], min_effect=0.02, confidence=0.95, load_change=3.0)
        self.assertEqual({r["verdict"] for r in v["rows"]}, {ab_stats.TOO_FEW})
        self.assertEqual(v["status"], "PASS")
        doc = {"verdict": v, "builds": {"A": {"label": "a"}, "B": {"label": "b"}},
               "settings": {"pairs": 10, "confidence": 0.95, "min_effect": 0.02,
                            "load_jump": 1.0, "load_change": 3.0}}
        self.assertIn("TOO FEW PAIRS: 63 distinct series at this confidence need 12 pairs",
                      ab_report.as_text(doc))


class FakeProbe:
    """A probe that returns fixed numbers per side (one benchmark, one exact value)."""

    def __init__(self, name, values, loss=None):
        self.name, self.values, self.loss, self.calls = name, values, loss or {}, []

    def run(self, side):
        self.calls.append(side)
        exact = {self.name + "/loss": self.loss[side]} if side in self.loss else {}
        return {self.name + "/time": ("us", False, self.values[side])}, exact, {"git_sha": side}


class Pairing(unittest.TestCase):
    def test_each_probe_runs_a_b_b_a_and_pairs_by_position(self):
        p, q = FakeProbe("p", {"a": 1.0, "b": 2.0}), FakeProbe("q", {"a": 3.0, "b": 3.0})
        samples, _, loads, schedule, contexts = ab_measure.run_pairs(
            [p, q], {"A": "a", "B": "b"}, 4, load_jump=1.0, retries=2, read=lambda: 1.0)
        self.assertEqual(p.calls, ["a", "b", "b", "a", "a", "b", "b", "a"])
        self.assertEqual([s for n, _, s, _ in schedule if n == "q"], list("ABBAABBA"))
        self.assertEqual(samples["p/time"]["A"], [1.0] * 4)
        self.assertEqual(samples["p/time"]["B"], [2.0] * 4)
        self.assertEqual(len(loads), 8)
        self.assertEqual(contexts, {"A": {"git_sha": "a"}, "B": {"git_sha": "b"}})

    def test_a_pair_across_a_load_jump_is_measured_again(self):
        readings = iter([1.0, 1.2, 1.0, 4.0, 4.0, 4.1, 4.1, 8.0, 8.0, 12.0, 12.0, 16.0])
        p = FakeProbe("p", {"a": 1.0, "b": 1.0})
        samples, _, loads, schedule, _ = ab_measure.run_pairs(
            [p], {"A": "a", "B": "b"}, 3, load_jump=1.0, retries=2, read=lambda: next(readings))
        self.assertEqual([r["attempts"] for r in loads], [1, 2, 3])
        self.assertEqual([r["disturbed"] for r in loads], [False, False, True])
        self.assertEqual(len(samples["p/time"]["A"]), 3)  # one kept per pair
        self.assertEqual(len(schedule), 2 * (1 + 2 + 3))


class Verdicts(unittest.TestCase):
    def judge(self, a, b, load=lambda: 1.0, loss=None):
        p = FakeProbe("p", {"a": a, "b": b}, loss)
        samples, exact, loads, _, _ = ab_measure.run_pairs(
            [p], {"A": "a", "B": "b"}, 6, load_jump=1.0, retries=0, read=load)
        return ab_report.judge(samples, exact, loads, min_effect=0.05, confidence=0.95,
                               load_change=3.0)

    def test_slower_is_a_regression_and_fails(self):
        v = self.judge(1.0, 1.5)
        self.assertEqual(v["status"], "REGRESSION")
        self.assertEqual(ab_report.exit_code(v["status"]), 1)

    def test_the_same_passes(self):
        v = self.judge(1.0, 1.0)
        self.assertEqual(v["status"], "PASS")
        self.assertEqual(ab_report.exit_code(v["status"]), 0)

    def test_slower_under_a_changing_load_is_disturbed_not_failed(self):
        loads = iter(range(100))
        v = self.judge(1.0, 1.5, load=lambda: float(next(loads)) * 0.4)
        self.assertTrue(v["disturbed"])
        self.assertEqual(v["status"], "DISTURBED")
        self.assertEqual(ab_report.exit_code(v["status"]), 0)

    def test_a_changed_result_fails_even_when_not_slower(self):
        v = self.judge(1.0, 1.0, loss={"a": 0.5, "b": 0.5000001})
        self.assertEqual(v["status"], "CHANGED")
        self.assertEqual(ab_report.exit_code(v["status"]), 1)
        v = self.judge(1.0, 1.0, loss={"a": 0.5, "b": 0.5})
        self.assertEqual(v["status"], "PASS")


if __name__ == "__main__":
    unittest.main()
