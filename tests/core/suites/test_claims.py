"""Every verdict path of the three claim types and the guards, on constructed rows, and the
error rates the tests promise, checked by simulation."""

import numpy as np
import pytest

from core.suites.claims import AllOf, Equivalence, NonInferiority, Superiority
from core.suites.guards import Learned, Overfits, Reaches
from core.suites.model import Experiment
from tests.core.suites.rows import rows

UP = Superiority("a", "b", "final_val_accuracy", margin=0.02)


def judge(test, df):
    return Experiment(key="x", claim="c", arms=lambda p: {}, test=test).analyze(df)


@pytest.mark.parametrize(
    ("a", "b", "verdict"),
    [
        ([0.80, 0.84, 0.90], [0.70, 0.75, 0.79], "supported"),
        ([0.70, 0.75, 0.79], [0.80, 0.84, 0.90], "not supported"),
        ([0.800, 0.810, 0.820, 0.805], [0.801, 0.809, 0.821, 0.804], "equivalent"),
        ([0.70, 0.80, 0.75], [0.80, 0.70, 0.74], "inconclusive"),
    ],
)
def test_superiority_paths(a, b, verdict):
    v = judge(UP, rows("final_val_accuracy", a=a, b=b))
    assert v.verdict == verdict and v.claim_type == "superiority"


def test_an_inconclusive_verdict_states_what_the_design_could_detect():
    v = judge(UP, rows("final_val_accuracy", a=[0.70, 0.80, 0.75], b=[0.80, 0.70, 0.74]))
    assert v.mde is not None and v.mde > abs(v.effect)
    assert f"this design detects an effect of {v.mde:.3g} or more with 80% power" in (v.explanation)


def test_a_negative_claim_reads_the_interval_the_other_way():
    down = Superiority("a", "b", "final_val_accuracy", direction="negative")
    assert judge(
        down, rows("final_val_accuracy", a=[0.7, 0.71, 0.72], b=[0.8, 0.8, 0.81])
    ).verdict == ("supported")


EQ = Equivalence("a", "b", "final_val_accuracy", 0.02)


@pytest.mark.parametrize(
    ("a", "b", "verdict"),
    [
        ([0.800, 0.810, 0.820, 0.805], [0.801, 0.809, 0.821, 0.804], "supported"),
        ([0.80, 0.84, 0.90], [0.70, 0.75, 0.79], "not supported"),
        ([0.70, 0.80, 0.75], [0.80, 0.70, 0.74], "inconclusive"),  # straddles 0: not "same"
    ],
)
def test_equivalence_paths(a, b, verdict):
    v = judge(EQ, rows("final_val_accuracy", a=a, b=b))
    assert v.verdict == verdict and v.claim_type == "equivalence"


NI = NonInferiority("d", ("x", "y"), "final_val_accuracy", 0.02)
BASE = [0.80, 0.70, 0.90, 0.75, 0.85]
JITTER = [0.004, -0.003, 0.002, -0.004, 0.001]  # the same gain on every seed tells no spread


def shifted(gain: float) -> list[float]:
    return [v + gain + j for v, j in zip(BASE, JITTER, strict=True)]


@pytest.mark.parametrize(
    ("x", "y", "verdict"),
    [
        (shifted(-0.03), shifted(-0.01), "supported"),
        (shifted(0.10), shifted(-0.01), "not supported"),
        (
            [v + 0.05 * s for v, s in zip(BASE, (1, -1, 1, -1, 1), strict=True)],
            [v - 0.01 for v in BASE],
            "inconclusive",
        ),
    ],
)
def test_non_inferiority_paths(x, y, verdict):
    v = judge(NI, rows("final_val_accuracy", d=BASE, x=x, y=y))
    assert v.verdict == verdict and v.claim_type == "non-inferiority"


def test_non_inferiority_is_not_read_off_the_absence_of_a_winner():
    """Noisy alternatives that beat nothing do not make the default 'supported'."""
    rng = np.random.default_rng(1)
    noisy = [list(np.array(BASE) + rng.normal(0, 0.08, 5)) for _ in range(2)]
    v = judge(NI, rows("final_val_accuracy", d=BASE, x=noisy[0], y=noisy[1]))
    assert v.verdict == "inconclusive"


@pytest.mark.parametrize(
    ("guard", "extra", "words"),
    [
        (Learned(), {"final_val_accuracy": 0.12}, "did not learn"),
        (Overfits("a"), {"final_train_accuracy": 0.42}, "a did not overfit"),
        (Overfits("a"), {"generalization_gap": 0.01}, "gap 0.010 (needs 0.05)"),
        (Reaches(("a",)), {"steps_to_target": np.nan}, "0% of a's runs reached"),
    ],
)
def test_each_failed_guard_gives_invalid_design_naming_the_check(guard, extra, words):
    df = rows("mode_accuracy_gap", extra, a=[0.3, 0.31, 0.32], b=[0.1, 0.1, 0.12])
    e = Experiment(key="x", claim="c", arms=lambda p: {}, guards=(guard,),
                   test=Superiority("a", "b", "mode_accuracy_gap"))  # fmt: skip
    v = e.analyze(df)
    assert v.verdict == "invalid design" and words in v.failed_check
    assert v.effect is None and guard.describe() in e.rule


def test_regression_runs_have_no_chance_level_to_beat():
    df = rows("final_val_loss", {"spec.dataset": "synthetic_regression"}, a=[1.0, 1.1], b=[2, 2])
    assert Learned().check(df) is None


def simulate(test, effect: float, n: int, trials: int, seed: int) -> dict[str, float]:
    """Verdict frequencies over `trials` experiments of n paired seeds with a true effect."""
    rng = np.random.default_rng(seed)
    counts: dict[str, int] = {}
    for _ in range(trials):
        seed_level = rng.normal(0.8, 0.05, n)  # what a seed does to both arms
        a = seed_level + effect + rng.normal(0, 0.01, n)
        b = seed_level + rng.normal(0, 0.01, n)
        v = judge(test, rows("final_val_accuracy", a=list(a), b=list(b)))
        counts[v.verdict] = counts.get(v.verdict, 0) + 1
    return {k: c / trials for k, c in counts.items()}


def test_under_a_true_null_superiority_says_supported_about_2_5_percent_of_the_time():
    rates = simulate(Superiority("a", "b", "final_val_accuracy"), 0.0, 5, 600, 0)
    # one side of a 95% two-sided interval: 2.5%, within 3 standard errors over 600 trials
    assert 0.025 - 0.019 < rates.get("supported", 0) < 0.025 + 0.019


def test_at_the_margin_equivalence_is_claimed_at_most_5_percent_of_the_time():
    rates = simulate(EQ, 0.02, 8, 600, 1)
    assert rates.get("supported", 0) < 0.05 + 0.027


def test_a_real_effect_of_the_mde_is_found_about_80_percent_of_the_time():
    """The minimum detectable effect means what it says."""
    n, sd = 5, 0.01 * np.sqrt(2)
    from statsmodels.stats.power import TTestPower

    mde = TTestPower().solve_power(nobs=n, alpha=0.05, power=0.8) * sd
    rates = simulate(Superiority("a", "b", "final_val_accuracy"), mde, n, 600, 2)
    assert 0.8 - 0.05 < rates.get("supported", 0) < 0.8 + 0.05


def test_rows_without_seeds_still_pair_by_order():
    df = rows("final_val_accuracy", a=[0.8, 0.85, 0.9], b=[0.7, 0.76, 0.79]).drop(
        columns="spec.seed"
    )
    assert judge(UP, df).verdict == "supported"


def test_a_significant_effect_inside_the_margin_is_equivalent_not_supported():
    """The margin is the size below which arms count as the same, however sure the sign."""
    a = [0.802, 0.8121, 0.8219, 0.8071]
    v = judge(UP, rows("final_val_accuracy", a=a, b=[0.800, 0.810, 0.820, 0.805]))
    assert v.ci_low > 0 and v.ci_high < 0.02
    assert v.verdict == "equivalent" and "decided by two one-sided tests" in v.method


def test_identical_differences_are_decided_by_the_sign_test_not_a_zero_width_interval():
    """Time to target counts whole epochs, so every seed can differ by exactly one epoch.
    Four such seeds cannot reach p < 0.05 two-sided (2 x 0.5^4 = 0.125): no interval, no
    verdict. Seven can (2 x 0.5^7 = 0.016)."""
    speed = Superiority("slow", "fast", "m")
    four = judge(speed, rows("m", slow=[38] * 4, fast=[19] * 4))
    assert four.verdict == "inconclusive" and four.effect == 19
    assert "sign test over 4 seeds" in four.method and "scipy.stats.binomtest" in four.method
    assert "no 95% interval from 4 identical differences" in four.explanation
    assert four.ci_low is None and four.ci_high is None
    seven = judge(speed, rows("m", slow=[38] * 7, fast=[19] * 7))
    assert seven.verdict == "supported" and (seven.ci_low, seven.ci_high) == (19, 19)


def test_identical_differences_are_not_equivalent_on_two_seeds():
    v = judge(EQ, rows("final_val_accuracy", a=[0.81, 0.71], b=[0.80, 0.70]))
    assert v.verdict == "inconclusive"  # two one-sided sign tests: p = 0.25 each


ALL = AllOf(
    tuple(Superiority(f"a{i}", f"b{i}", "final_val_accuracy", margin=0.02) for i in range(3))
)


def three_parts(*gains: float) -> dict[str, list[float]]:
    base, jitter = [0.80, 0.70, 0.75, 0.85], [0.004, -0.003, 0.002, -0.004]
    arms = {}
    for i, g in enumerate(gains):
        arms[f"a{i}"] = [v + g + j * (i + 1) for v, j in zip(base, jitter, strict=True)]
        arms[f"b{i}"] = base
    return arms


def test_all_of_is_supported_only_when_every_part_is_and_equivalent_when_every_part_is():
    assert judge(ALL, rows("final_val_accuracy", **three_parts(0.1, 0.1, 0.1))).verdict == (
        "supported"
    )
    assert judge(ALL, rows("final_val_accuracy", **three_parts(0, 0, 0))).verdict == "equivalent"
    mixed = judge(ALL, rows("final_val_accuracy", **three_parts(0.1, 0, 0.1)))
    assert mixed.verdict == "inconclusive" and "deciding part: final_val_accuracy, a1" in (
        mixed.method
    )


def test_all_of_says_not_supported_only_past_holm_over_its_parts():
    """Each part alone would call -0.03 "not supported" (its one-sided p is below 0.025), but
    three parts give three chances: Holm asks the smallest p to pass 0.025 / 3."""
    arms = three_parts(0.1, 0.1, 0.1)
    arms["a2"] = [0.80 - 0.03, 0.70 - 0.01, 0.75 - 0.04, 0.85 - 0.035]
    part = ALL.parts[2].judge(rows("final_val_accuracy", **arms))
    p = ALL.parts[2].against_p(part[1])
    assert part[0] == "not supported" and 0.025 / 3 < p < 0.025
    assert judge(ALL, rows("final_val_accuracy", **arms)).verdict == "inconclusive"
    arms["a2"] = [0.80 - 0.03, 0.70 - 0.031, 0.75 - 0.032, 0.85 - 0.03]
    v = judge(ALL, rows("final_val_accuracy", **arms))
    assert v.verdict == "not supported"
    assert "Holm over 3 parts at alpha 0.025" in v.method and "a2 minus b2" in v.method


def test_under_a_true_null_a_three_part_claim_says_not_supported_at_most_2_5_percent():
    """Without Holm, any of three parts at 0.025 one-sided gave 6-7%."""
    claim = AllOf(tuple(Superiority(f"a{i}", f"b{i}", "final_val_accuracy") for i in range(3)))
    rng = np.random.default_rng(1)
    trials, false = 300, 0  # statsmodels.multipletests runs gc.collect(): ~0.1 s a trial
    for _ in range(trials):
        arms = {}
        for i in range(3):
            arms[f"b{i}"] = list(rng.normal(0.8, 0.02, 4))
            arms[f"a{i}"] = list(np.asarray(arms[f"b{i}"]) + rng.normal(0, 0.02, 4))
        false += claim.judge(rows("final_val_accuracy", **arms))[0] == "not supported"
    assert false / trials <= 0.025 + 2 * np.sqrt(0.025 * 0.975 / trials)


def test_seeds_that_did_not_learn_are_named_where_the_median_passed():
    """Failing to learn can be the effect (BN after the activation failing on some seeds), so
    such seeds stay in the comparison; the explanation says how many."""
    guarded = Experiment(key="x", claim="c", arms=lambda p: {}, test=UP, guards=(Learned(),))
    df = rows("final_val_accuracy", a=[0.80, 0.84, 0.90], b=[0.70, 0.75, 0.79])
    df.loc[(df["arm"] == "b") & (df["spec.seed"] == 0), "final_val_accuracy"] = 0.12
    v = guarded.analyze(df)
    assert "kept in the comparison: b 1 of 3" in v.explanation
    assert (
        "kept in the comparison"
        not in guarded.analyze(
            rows("final_val_accuracy", a=[0.80, 0.84, 0.90], b=[0.70, 0.75, 0.79])
        ).explanation
    )


def test_an_undecided_equivalence_says_how_wide_its_interval_is_against_the_margin():
    """The superiority MDE says nothing about whether equivalence could be shown."""
    v = judge(EQ, rows("final_val_accuracy", a=[0.70, 0.80, 0.75], b=[0.80, 0.70, 0.74]))
    assert v.verdict == "inconclusive"
    half = (v.ci_high - v.ci_low) / 2
    assert f"equivalence needs the CI inside +-0.02; with 3 seeds its half-width is {half:.3g}" in (
        v.explanation
    )
