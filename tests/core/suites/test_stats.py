"""The statistics behind verdicts agree with the libraries they cite and with hand checks."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.power import TTestPower

from core.suites.stats import holm, paired, versus, welch

A = pd.Series([0.81, 0.74, 0.90, 0.66, 0.78])
B = pd.Series([0.78, 0.70, 0.88, 0.61, 0.77])


def test_the_paired_interval_is_scipys_ttest_rel_interval():
    c = paired(A, B)
    ref = stats.ttest_rel(A, B).confidence_interval(0.95)
    assert (c.ci_low, c.ci_high) == pytest.approx((ref.low, ref.high))
    assert c.value == pytest.approx(float((A - B).mean())) and c.n == 5


def test_pairing_by_seed_is_narrower_than_welch_when_seeds_carry_the_variance():
    """Seed effects (0.66 to 0.90) dwarf the arm effect; pairing removes them."""
    p, w = paired(A, B), welch(A, B)
    assert p.ci_high - p.ci_low < (w.ci_high - w.ci_low) / 3
    assert p.ci_low > 0 > w.ci_low  # paired: a real difference; Welch: none visible


def test_seeds_pair_by_index_not_by_position():
    a = pd.Series([1.0, 2.0, 3.0], index=[2, 0, 1])
    b = pd.Series([0.0, 1.0, 2.0, 9.0], index=[0, 1, 2, 3])
    assert paired(a, b).differences == (2.0, 2.0, -1.0)  # seeds 0, 1, 2; seed 3 has no pair


def test_the_minimum_detectable_effect_is_statsmodels_power_solution():
    c = paired(A, B)
    d = (A - B).to_numpy()
    expected = TTestPower().solve_power(nobs=5, alpha=0.05, power=0.8) * d.std(ddof=1)
    assert c.mde == pytest.approx(expected)


def test_a_bootstrap_interval_comes_with_enough_seeds():
    assert paired(A, B).bootstrap is None
    rng = np.random.default_rng(0)
    a = pd.Series(rng.normal(1.0, 1.0, 12))
    c = versus(a, 0.0)
    assert c.bootstrap is not None and c.bootstrap[0] < c.value < c.bootstrap[1]


def test_equivalence_is_two_one_sided_tests():
    same = paired(pd.Series([0.80, 0.81, 0.82, 0.80]), pd.Series([0.801, 0.809, 0.821, 0.80]))
    assert same.equivalence_p(0.02) < 0.05
    assert paired(A, B).equivalence_p(0.001) > 0.05


def test_holm_rejects_in_order_against_shrinking_thresholds():
    assert holm([0.01, 0.04, 0.03]) == [True, False, False]
    assert holm([0.001, 0.02, 0.04]) == [True, True, True]
    assert holm([]) == []


def test_too_few_seeds_give_no_comparison():
    one = pd.Series([1.0])
    assert paired(one, one) is None and versus(one, 0) is None and welch(one, A) is None
