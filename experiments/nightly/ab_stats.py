"""Paired statistics of the nightly A/B job (experiments/nightly/ab.py): per benchmark, the
median of the paired ratios B/A, a distribution-free confidence interval for it, the verdict and
the smallest effect the run could have detected.

Why the sign test's interval: the pairs are few (6-10), and on a shared machine their ratios are
heavy-tailed and skewed (a pair caught by another user's compile is 30% off while the rest agree
within 2%). The interval of the median from the sign test assumes only that the pairs are
independent: no normality (t interval) and no symmetry (Wilcoxon signed-rank), and an outlier
moves it by one order statistic at most. It is exact: [r_(k), r_(n+1-k)] of the sorted ratios
covers the true median ratio with probability 1 - 2 P(Binomial(n, 1/2) <= k - 1), and k is the
largest index whose coverage is still >= the confidence level. With 95% it needs 6 pairs
(k = 1: 96.9%); 10 pairs give k = 2 (97.9%).

Standard library only.
"""

import math

# Verdicts. Slower and faster need the whole interval on one side of 1 *and* a median effect of
# at least the minimum effect: the interval alone would flag a benchmark whose ratio is 1.004
# with a tight interval, a real but irrelevant difference (two builds rarely lay out code alike).
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


def min_pairs(confidence):
    """The fewest pairs whose [min, max] reaches the confidence level (6 at 95%)."""
    n = 1
    while sign_test_rank(n, confidence)[0] == 0:
        n += 1
    return n


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


def analyse(a_values, b_values, higher_is_better, min_effect=0.05, confidence=0.95):
    """The paired comparison of one benchmark (a dict, the report's row).

    ratio, low, high: median of B/A and its sign-test interval (B/A of the measured quantity).
    slowdown, slowdown_low, slowdown_high: the same in time terms (> 0: B is slower).
    detectable: the smallest slowdown this run could have flagged: the larger of min_effect and
    the interval's reach from its median on the far side (log scale), since a shift by more than
    that moves the whole interval clear of 1.
    """
    ratios = paired_ratios(a_values, b_values)
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
    row["detectable"] = max(min_effect, math.exp(reach) - 1.0)
    if s_lo > 0 and row["slowdown"] >= min_effect:
        row["verdict"] = SLOWER
    elif s_hi < 0 and -row["slowdown"] >= min_effect / (1.0 + min_effect):
        row["verdict"] = FASTER  # the same effect size the other way: 1/(1+e) of the time
    else:
        row["verdict"] = SAME
    return row


def exact_check(a_values, b_values):
    """'unchanged' when every value of both builds is the same number, else 'CHANGED'."""
    values = set(repr(v) for v in list(a_values) + list(b_values))
    return "unchanged" if len(values) == 1 else "CHANGED"
