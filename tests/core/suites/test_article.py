"""Each analysis of the article suite, on constructed result rows, through every verdict."""

import math

import numpy as np
import pandas as pd
import pytest

from core.suites import PROFILES, suites
from core.suites.article import (
    BN_POSITION,
    BN_SPEED,
    DROPOUT_OVERFIT,
    EVAL_MODE,
    EXAMPLES,
    TEST_TIME_SCALING,
    inverted_dropout_ratio,
)
from core.suites.article_design import (
    BN_EVERY_LAYER,
    DROPOUT_POSITION,
    FC_VS_CONV,
    MOMENTUM,
    P_BY_SIZE,
)
from core.suites.report import markdown
from core.suites.verdicts import Effect, decide, difference, equivalent


def rows(metric: str, **arms) -> pd.DataFrame:
    out = [{"arm": a, metric: v, "spec.epochs": 6} for a, vals in arms.items() for v in vals]
    return pd.DataFrame(out)


def test_welch_difference_matches_a_hand_computation():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([0.0, 0.0, 3.0])
    e = difference(a, b)
    # means 2 and 1; variances of the means 1/3 and 1; Welch dof = 3.2 -> t(3) = 3.182
    se = math.sqrt(1 / 3 + 1)
    assert e.value == pytest.approx(1.0)
    assert e.ci_high == pytest.approx(1.0 + 3.182 * se)
    assert difference(a, np.array([1.0])) is None


@pytest.mark.parametrize(
    ("low", "high", "expect", "verdict"),
    [
        (0.1, 0.3, "positive", "supported"),
        (-0.3, -0.1, "positive", "not supported"),
        (-0.1, 0.3, "positive", "inconclusive"),
        (-0.3, -0.1, "negative", "supported"),
    ],
)
def test_decide_reads_the_ci_against_the_claimed_direction(low, high, expect, verdict):
    from core.suites.verdicts import Effect

    assert decide(Effect(value=(low + high) / 2, ci_low=low, ci_high=high, n=3), expect) == verdict
    assert decide(None, expect) == "inconclusive"


def test_bn_speed_counts_never_reaching_the_target_as_epochs_plus_one():
    df = rows(
        "epochs_to_target", bn=[2, 3, 2], no_bn=[5, 6, None], bn_lr4=[2, 2, 3], no_bn_lr4=[4, 5, 4]
    )
    v = BN_SPEED.analyze(df)
    assert v.verdict == "supported" and v.effect == pytest.approx(6.0 - 7 / 3)
    assert "Median training time to the target" in v.explanation


@pytest.mark.parametrize(
    ("same", "high", "verdict"),
    [
        (([5, 5, 6], [2, 2, 3]), ([2, 2, 2], [2, 2, 2]), "not supported"),  # BN slower
        (([3, 2, 4], [3, 3, 3]), ([2, 2, 3], [6, 5, 6]), "supported"),  # only at 4x the lr
        (([3, 2, 4], [3, 3, 3]), ([2, 4, 3], [3, 3, 3]), "inconclusive"),
    ],
)
def test_bn_speed_other_paths(same, high, verdict):
    (bn, no_bn), (bn4, no_bn4) = same, high
    df = rows("epochs_to_target", bn=bn, no_bn=no_bn, bn_lr4=bn4, no_bn_lr4=no_bn4)
    assert BN_SPEED.analyze(df).verdict == verdict


@pytest.mark.parametrize(
    ("p0", "p05", "verdict"),
    [
        ([0.30, 0.35, 0.32], [0.10, 0.12, 0.11], "supported"),
        ([0.10, 0.12, 0.11], [0.30, 0.35, 0.32], "not supported"),
        ([0.10, 0.30, 0.20], [0.20, 0.10, 0.30], "inconclusive"),
    ],
)
def test_dropout_overfitting_paths(p0, p05, verdict):
    gaps = rows("generalization_gap", p0_small=p0, p05_small=p05, p0_full=p0, p05_full=p05)
    df = gaps.assign(final_val_accuracy=0.5)
    assert DROPOUT_OVERFIT.analyze(df).verdict == verdict


def test_an_experiment_without_results_is_inconclusive():
    empty = pd.DataFrame(columns=["arm"])
    for e in (BN_POSITION, DROPOUT_OVERFIT):
        v = e.analyze(empty)
        assert v.verdict == "inconclusive" and "not enough finished runs" in v.explanation


@pytest.mark.parametrize(
    ("before", "after", "verdict"),
    [
        ([0.80, 0.81, 0.82], [0.70, 0.71, 0.72], "supported"),
        ([0.70, 0.71, 0.72], [0.80, 0.81, 0.82], "not supported"),
    ],
)
def test_bn_position_paths(before, after, verdict):
    df = rows("best_val_accuracy", before=before, after=after)
    assert BN_POSITION.analyze(df).verdict == verdict


def test_eval_mode_paths():
    v = EVAL_MODE.analyze(rows("mode_accuracy_gap", bn_dropout=[0.05, 0.06, 0.04]))
    assert v.verdict == "supported"
    worse = EVAL_MODE.analyze(rows("mode_accuracy_gap", bn_dropout=[-0.05, -0.06, -0.04]))
    assert worse.verdict == "not supported"


def test_the_one_minus_p_statement_is_corrected_by_measurement():
    assert inverted_dropout_ratio(0.5) == pytest.approx(1.0, abs=0.01)
    v = TEST_TIME_SCALING.analyze(pd.DataFrame(columns=["arm"]))
    assert v.verdict == "corrected" and "1/(1 - p)" in v.explanation
    assert TEST_TIME_SCALING.specs(PROFILES["quick"]) == []  # a measurement, no jobs


def test_example_networks_paths():
    def df(arms):
        return pd.DataFrame(
            [
                {
                    "arm": a,
                    "final_val_loss": 0.5,
                    "mode_output_rel_diff": 0.1,
                    "train_samples_per_s": 1000.0,
                }
                for a in arms
            ]
        )

    assert EXAMPLES.analyze(df(["simplenet", "dropoutnet", "net"])).verdict == "supported"
    assert EXAMPLES.analyze(df(["simplenet", "net"])).verdict == "not supported"
    assert EXAMPLES.analyze(pd.DataFrame(columns=["arm"])).verdict == "inconclusive"


@pytest.mark.parametrize("profile", list(PROFILES))
def test_every_experiment_builds_valid_labelled_specs(profile):
    for e in suites()["article"].experiments:
        specs = e.specs(PROFILES[profile])
        assert all(label.startswith(f"{e.key}:") for label, _ in specs)
        assert specs or e is TEST_TIME_SCALING


def test_the_report_lists_every_verdict():
    s = suites()["article"]
    verdicts = [e.analyze(pd.DataFrame(columns=["arm"])) for e in s.experiments]
    text = markdown(s, "suite-article-ci-x", verdicts)
    for e, v in zip(s.experiments, verdicts, strict=True):
        assert f"## {e.key}: {v.verdict}" in text and e.rule in text


# --- claims 4-8 ---------------------------------------------------------------------------

HIGH, LOW, NOISE_A, NOISE_B = (
    [0.80, 0.81, 0.82],
    [0.70, 0.71, 0.72],
    [0.7, 0.8, 0.75],
    [0.8, 0.7, 0.74],
)


@pytest.mark.parametrize(
    ("a", "b", "verdict"),
    [(HIGH, LOW, "supported"), (LOW, HIGH, "not supported"), (NOISE_A, NOISE_B, "inconclusive")],
)
def test_dropout_position_paths(a, b, verdict):
    df = rows("best_val_accuracy", after_activation=a, before_norm=b).assign(bn_variance_ratio=0.9)
    v = DROPOUT_POSITION.analyze(df)
    assert v.verdict == verdict and "variance ratio" in v.explanation


def test_momentum_default_holds_unless_another_momentum_clearly_wins():
    arms = {a: LOW for a in ("m0.01", "m0.3", "m0.9", "cumulative")}
    df = rows("final_val_accuracy", **{"m0.1": HIGH, **arms}).assign(bn_mean_gap=0.1)
    assert MOMENTUM.analyze(df).verdict == "supported"
    arms["m0.9"] = HIGH
    df = rows("final_val_accuracy", **{"m0.1": LOW, **arms}).assign(bn_mean_gap=0.1)
    v = MOMENTUM.analyze(df)
    assert v.verdict == "not supported" and "m0.9" in v.effect_name
    assert MOMENTUM.analyze(pd.DataFrame(columns=["arm"])).verdict == "inconclusive"


@pytest.mark.parametrize(
    ("low_p", "half_p", "verdict"), [(HIGH, LOW, "supported"), (LOW, HIGH, "not supported")]
)
def test_lower_p_for_small_data_paths(low_p, half_p, verdict):
    df = rows(
        "final_val_accuracy",
        **{"p0.1_small": low_p, "p0.5_small": half_p, "p0.1_full": LOW, "p0.5_full": HIGH},
    )
    assert P_BY_SIZE.analyze(df).verdict == verdict


@pytest.mark.parametrize(
    ("fc", "conv", "verdict"), [(HIGH, LOW, "supported"), (LOW, HIGH, "not supported")]
)
def test_fc_versus_conv_dropout_paths(fc, conv, verdict):
    df = rows(
        "best_val_accuracy", fc_only=fc, conv_element=conv, conv_channel=conv, weight_decay=HIGH
    )
    v = FC_VS_CONV.analyze(df)
    assert v.verdict == verdict and "weight decay" in v.explanation


def test_bn_last_layer_uses_an_equivalence_margin():
    same = [0.800, 0.801, 0.802]
    df = rows("best_val_accuracy", bn_all=same, bn_not_last=same, no_bn=LOW)
    assert BN_EVERY_LAYER.analyze(df).verdict == "supported"
    df = rows("best_val_accuracy", bn_all=HIGH, bn_not_last=LOW, no_bn=LOW)
    assert BN_EVERY_LAYER.analyze(df).verdict == "not supported"
    assert equivalent(Effect(value=0.0, ci_low=-0.05, ci_high=0.05, n=3), 0.02) == "inconclusive"
