"""Paired statistics of the nightly A/B job (experiments/nightly/ab.py): per benchmark, the
median of the paired ratios B/A, a distribution-free confidence interval for it, the verdict and
the smallest effect the run could have detected.

Why the sign test's interval: the pairs are few (10-20), and on a shared machine their ratios are
heavy-tailed and skewed (a pair caught by another user's compile is 30% off while the rest agree
within 2%). The interval of the median from the sign test assumes only that the pairs are
independent: no normality (t interval) and no symmetry (Wilcoxon signed-rank), and an outlier
moves it by one order statistic at most. It is exact: [r_(k), r_(n+1-k)] of the sorted ratios
covers the true median ratio with probability 1 - 2 P(Binomial(n, 1/2) <= k - 1), and k is the
largest index whose coverage is still >= the confidence level. With 95% it needs 6 pairs
(k = 1: 96.9%); 10 pairs give k = 2 (97.9%).

Why a family: a run judges N benchmarks at once, and the job fails when any one is flagged. With
each interval at 95% alone, the chance that some benchmark of a same-vs-same run is flagged grows
as 1 - (1 - a)^N for independent series (a = 1.07% a side at 10 pairs: 49% over the 63 distinct
series a default run had before 2026-12-06 evening, 46% over today's 58). The intervals are
therefore simultaneous (Bonferroni): each at 1 - (1 - confidence) / N, so that all N cover
together with probability >= confidence, whatever their dependence. Holm's step-down would flag
the same first benchmark (its first step is this one), so the job's pass or fail is the same;
only how many further benchmarks it names could differ.

Why the interval must clear the minimum effect (not only 1): two builds rarely lay out code
alike, and a real but irrelevant 1% difference would fail the job at enough pairs. Slower means
the whole interval lies beyond a slowdown of min_effect (the one-sided sign test of "B is at most
min_effect slower" rejected at the family's level).

Standard library only.
"""

import math

# Verdicts. Slower and faster need the whole (simultaneous) interval beyond the minimum effect.
SLOWER, FASTER, SAME, TOO_FEW = "slower", "faster", "same", "too few pairs"


def median(values):
    s = sorted(values)
    n = len(s)
    if n == 0:
        raise ValueError("median of no values")
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def binomial_cdf_half(k, n):
    """P(Binomial(n, 1/2) <= k), exactly (n is small)."""
    if k < 0:
        return 0.0
    return sum(math.comb(n, i) for i in range(0, min(k, n) + 1)) / 2.0 ** n


def sign_test_rank(n, confidence):
    """The largest k >= 1 with coverage of [x_(k), x_(n+1-k)] >= confidence and that coverage,
    or (0, 0.0) when even [min, max] falls short (too few pairs)."""
    best = (0, 0.0)
    for k in range(1, n // 2 + 1):
        coverage = 1.0 - 2.0 * binomial_cdf_half(k - 1, n)
        if coverage >= confidence:
            best = (k, coverage)
        else:
            break
    return best


def paired_ratios(a_values, b_values):
    """B/A of each pair, in pair order; both lists come from the same pairs."""
    if len(a_values) != len(b_values):
        raise ValueError("unpaired values: %d A, %d B" % (len(a_values), len(b_values)))
    for v in list(a_values) + list(b_values):
        if not (v > 0 and math.isfinite(v)):
            raise ValueError("a measurement is not a positive finite number: %r" % (v,))
    return [b / a for a, b in zip(a_values, b_values)]


def slowdown_of(ratio, higher_is_better):
    """How much slower B is than A for a ratio B/A: B/A - 1 for a time, A/B - 1 for a rate."""
    return (1.0 / ratio if higher_is_better else ratio) - 1.0


def family_confidence(confidence, family_size):
    """Each interval's confidence so that a family of family_size covers together with
    probability >= confidence (Bonferroni)."""
    return 1.0 - (1.0 - confidence) / max(1, family_size)


def family_size(ratio_lists):
    """How many distinct series of paired ratios a run judges: series that agree in every ratio
    to 9 digits are one test (a step's GFLOP/s and samples/s: the FLOPs per sample are a
    constant), so a benchmark reported in two units is not counted twice."""
    return len({tuple(round(math.log(r), 9) for r in ratios) for ratios in ratio_lists})


def min_pairs(confidence, family=1):
    """The fewest pairs whose [min, max] reaches the confidence level for a family of `family`
    intervals (6 at 95% for one, 12 for the 58 series of a default run: 2 x 2^-n <= 0.05/N)."""
    level = family_confidence(confidence, family)
    n = 1
    while sign_test_rank(n, level)[0] == 0:
        n += 1
    return n


def analyse(a_values, b_values, higher_is_better, min_effect=0.02, confidence=0.95):
    """The paired comparison of one benchmark from its paired values (see analyse_ratios)."""
    return analyse_ratios(paired_ratios(a_values, b_values), higher_is_better, min_effect,
                          confidence)


def analyse_ratios(ratios, higher_is_better, min_effect=0.02, confidence=0.95):
    """The paired comparison of one benchmark (a dict, the report's row) from its ratios B/A.

    confidence is this interval's own level (a run passes family_confidence(...) of its family).
    ratio, low, high: median of B/A and its sign-test interval (B/A of the measured quantity).
    slowdown, slowdown_low, slowdown_high: the same in time terms (> 0: B is slower).
    verdict: slower when slowdown_low > min_effect, faster when slowdown_high is below the same
    effect the other way (-min_effect / (1 + min_effect)), else same.
    detectable: the smallest slowdown this run could have flagged: a true slowdown s shifts the
    interval by log(1 + s) (log scale), and it clears min_effect once s exceeds
    (1 + min_effect) x exp(reach) - 1, reach being the interval's larger distance from its
    median.
    """
    ratios = list(ratios)
    n = len(ratios)
    logs = sorted(math.log(r) for r in ratios)
    center = median(logs)
    k, coverage = sign_test_rank(n, confidence)
    row = {"pairs": n, "ratio": math.exp(center), "higher_is_better": higher_is_better,
           "ratios": ratios, "coverage": coverage}
    if k == 0:
        row.update(low=None, high=None, slowdown=slowdown_of(row["ratio"], higher_is_better),
                   slowdown_low=None, slowdown_high=None, detectable=None, verdict=TOO_FEW)
        return row
    lo, hi = logs[k - 1], logs[n - k]
    row["low"], row["high"] = math.exp(lo), math.exp(hi)
    # In time terms the interval flips for a rate (a lower rate is a slowdown).
    s_lo, s_hi = sorted((slowdown_of(row["low"], higher_is_better),
                         slowdown_of(row["high"], higher_is_better)))
    row["slowdown"] = slowdown_of(row["ratio"], higher_is_better)
    row["slowdown_low"], row["slowdown_high"] = s_lo, s_hi
    reach = max(center - lo, hi - center)
    row["detectable"] = (1.0 + min_effect) * math.exp(reach) - 1.0
    if s_lo > min_effect:
        row["verdict"] = SLOWER
    elif s_hi < -min_effect / (1.0 + min_effect):
        row["verdict"] = FASTER  # the same effect size the other way: 1/(1+e) of the time
    else:
        row["verdict"] = SAME
    return row


def exact_check(a_values, b_values):
    """'unchanged' when every value of both builds is the same number, else 'CHANGED'."""
    values = set(repr(v) for v in list(a_values) + list(b_values))
    return "unchanged" if len(values) == 1 else "CHANGED"
