"""Every verdict path of the three claim types and the guards, on constructed rows, and the
error rates the tests promise, checked by simulation."""

import numpy as np
import pytest

from core.suites.claims import Equivalence, NonInferiority, Superiority
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


@pytest.mark.parametrize(
    ("x", "y", "verdict"),
    [
        ([v - 0.03 for v in BASE], [v - 0.01 for v in BASE], "supported"),
        ([v + 0.10 for v in BASE], [v - 0.01 for v in BASE], "not supported"),
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
    df = rows("final_val_accuracy", a=[0.8, 0.85, 0.9], b=[0.7, 0.75, 0.8]).drop(
        columns="spec.seed"
    )
    assert judge(UP, df).verdict == "supported"
