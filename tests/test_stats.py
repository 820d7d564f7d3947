"""Intervals and the decision rules: each would fail on the defect named in its docstring."""
import numpy as np
import pytest

from replication.evaluation import stats
from replication.evaluation.stats import Interval


def test_wilson_matches_known_values():
    """Reference values (Newcombe 1998): 81/263 -> [25.53, 36.62]%; 0/10 -> [0, 27.75]%."""
    iv = stats.wilson(81, 263)
    assert (iv.low, iv.high) == pytest.approx((25.53, 36.62), abs=0.01)
    zero = stats.wilson(0, 10)
    assert zero.low == pytest.approx(0.0, abs=1e-9) and zero.high == pytest.approx(27.75, abs=0.05)


def test_t_interval_uses_t_not_normal():
    iv = stats.t_interval([1.0, 2.0, 3.0])
    assert (iv.low, iv.high) == pytest.approx((2 - 4.303 / np.sqrt(3), 2 + 4.303 / np.sqrt(3)), abs=1e-3)
    with pytest.raises(ValueError):
        stats.t_interval([1.0])


def test_rate_takes_the_wider_of_wilson_and_t():
    """Three splits that agree: Wilson on the pooled count dominates; splits that disagree: t dominates."""
    agree = stats.rate([50.0, 50.0, 50.0], [100, 100, 100])
    pooled = stats.wilson(150, 300)
    assert agree.n == 300 and (agree.low, agree.high) == pytest.approx((pooled.low, pooled.high))
    spread = stats.rate([10.0, 50.0, 90.0], [1000, 1000, 1000])
    assert spread.low == 0.0 and spread.high == 100.0  # t over 3 splits with std 40 covers everything
    assert spread.method == "t over 3 runs (wider than Wilson on N=3000)" and spread.width_from_repeats
    assert stats.rate([10.0, 50.0, 90.0], [1000] * 3, over="splits").method.startswith("t over 3 splits")
    assert agree.method == "Wilson, N=300 (wider than t over 3 runs)" and not agree.width_from_repeats
    single = stats.rate([20.0], [50])
    assert (single.low, single.high) == pytest.approx((stats.wilson(10, 50).low, stats.wilson(10, 50).high))


def test_paired_bootstrap_sees_pairing():
    """Two models right on the same 90% of samples, one of them also on 5% more: the paired difference is tight
    around +5 points even though each rate alone has a wide interval."""
    rng = np.random.default_rng(0)
    a = rng.random(400) < 0.9
    b = a.copy()
    b[np.flatnonzero(~a)[:20]] = True
    d = stats.bootstrap_mean(b.astype(float) - a.astype(float))
    assert d.estimate == pytest.approx(5.0) and d.low > 2.5 and d.high < 7.5
    assert stats.bootstrap_mean(np.zeros(50)).high == 0.0


def test_bootstrap_resamples_within_runs():
    """Two runs with opposite values: stratified by run, the mean never moves; pooled resampling would."""
    values = np.r_[np.ones(50), -np.ones(50)]
    strat = stats.bootstrap_mean(values, groups=np.r_[np.zeros(50), np.ones(50)], scale=1.0)
    assert strat.low == pytest.approx(0.0) and strat.high == pytest.approx(0.0)
    pooled = stats.bootstrap_mean(values, scale=1.0)
    assert pooled.high > 0.1


def test_paired_difference_holds_the_spread_between_runs():
    """Runs of one protocol that disagree in sign (+1 and -1 per sample): the within-run bootstrap alone says 0
    exactly; the paired difference widens to the t-interval over the runs' means, which spans both."""
    values = np.r_[np.ones(50), -np.ones(50)]
    groups = np.r_[np.zeros(50), np.ones(50)]
    d = stats.paired_difference(values, groups, scale=1.0)
    assert d.low < -1.0 and d.high > 1.0 and d.width_from_repeats
    one_run = stats.paired_difference(values[:50] - 0.5, scale=1.0)  # one run: the bootstrap itself
    assert one_run == stats.bootstrap_mean(values[:50] - 0.5, scale=1.0)
    agree = stats.paired_difference(np.r_[np.full(50, 0.5), np.full(50, 0.5)] + np.tile([0.5, -0.5], 50), groups,
                                    scale=1.0)
    assert not agree.width_from_repeats  # runs that agree: the bootstrap is the wider, and kept


def test_verdict_rule_on_the_issue_examples():
    """98.98% vs 99.62% (error 1.02% vs 0.38%) is inconsistent; the old flat 2-point tolerance called it 'within
    tolerance'."""
    tight = Interval(98.98, 98.90, 99.06, 34432, "Wilson")
    assert stats.compare(tight, stats.published_band(99.62, None)) == "inconsistent"
    # a small rate is judged on its own scale: 0.45% on 0.38% is consistent, 2.38% is not
    assert stats.compare(Interval(0.42, 0.40, 0.44, 10 ** 6, "Wilson"), (0.38, 0.38)) == "consistent"
    assert stats.compare(Interval(2.38, 2.2, 2.5, 10 ** 5, "Wilson"), (0.38, 0.38)) == "inconsistent"


def test_verdict_rule_with_a_published_std():
    """Table V's 68.39 (12.50) over 10 splits: band 68.39 +- 2.262 x 12.5 / sqrt(10) = [59.45, 77.33]."""
    band = stats.published_band(68.39, 12.5)
    assert band == pytest.approx((59.45, 77.33), abs=0.01)
    assert stats.compare(Interval(70.0, 66.0, 74.0, 30000, "t"), band) == "consistent"
    assert stats.compare(Interval(45.0, 40.0, 50.0, 30000, "t"), band) == "inconsistent"
    assert stats.compare(Interval(50.0, 45.0, 55.0, 30000, "t"), band) == "inconclusive"  # straddles the margin
    assert stats.compare(Interval(55.6, 0.0, 100.0, 6000, "t"), band) == "inconclusive"
    assert stats.compare(Interval(31000, 31000, 31000, 3, "exact"), (31100, 31100), unit="images") == "consistent"
    assert stats.compare(Interval(30000, 30000, 30000, 3, "exact"), (31100, 31100), unit="images") == "inconsistent"


def test_claim_rules_and_the_n_that_would_decide():
    iv = Interval(8.0, 2.0, 14.0, 100, "Wilson")
    assert stats.at_most(iv, 5.0) == "inconclusive" and stats.at_most(iv, 15.0) == "supported"
    assert stats.at_most(iv, 1.0) == "contradicted"
    assert stats.above(iv, 1.0) == "supported" and stats.above(iv, 20.0) == "contradicted"
    assert stats.n_to_decide(iv, 5.0) == 400  # half-width 6 must shrink to the distance 3: 4x the samples
    assert stats.n_to_decide(Interval(5.0, 0.0, 10.0, 100, "x"), 5.0) is None


def test_std_ratio_interval_covers_95_percent_of_equal_spreads():
    """3 splits of ours against a std over 10: an interval with the F quantiles' degrees of freedom swapped covers
    0.84 of these same draws."""
    rng = np.random.default_rng(0)
    draws = [stats.std_ratio(rng.normal(size=3), rng.normal(size=10).std(ddof=1)) for _ in range(4000)]
    coverage = np.mean([d.low <= 1.0 <= d.high for d in draws])
    assert 0.94 <= coverage <= 0.96
    assert draws[0].n == 3 and draws[0].method == "F, 3 vs 10 splits"


def test_spread_verdicts_and_bad_input():
    def ratio(low, high):
        return Interval(1.0, low, high, 10, "F")
    assert stats.compare_spread(ratio(0.85, 1.2)) == "consistent"
    assert stats.compare_spread(ratio(1.3, 3.0)) == "inconsistent"
    assert stats.compare_spread(ratio(0.1, 0.7)) == "inconsistent"
    assert stats.compare_spread(ratio(0.5, 1.1)) == "inconclusive"
    r = stats.std_ratio([1.0, 3.0], 2.0, 10)
    assert r.estimate == pytest.approx(np.sqrt(2.0) / 2.0)
    with pytest.raises(ValueError, match="at least 2 splits"):
        stats.std_ratio([1.0], 2.0)
    with pytest.raises(ValueError, match="published std must be > 0"):
        stats.std_ratio([1.0, 2.0], 0.0)
