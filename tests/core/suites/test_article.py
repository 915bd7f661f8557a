"""Each analysis of the article suite, on constructed result rows, through its verdicts."""

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
    classic_dropout,
    scaling_ratios,
    scaling_verdict,
)
from core.suites.article_design import (
    BN_EVERY_LAYER,
    DROPOUT_POSITION,
    FC_VS_CONV,
    MOMENTUM,
    P_BY_SIZE,
)
from core.suites.report import markdown
from tests.core.suites.rows import rows

HIGH, LOW = [0.80, 0.81, 0.82], [0.70, 0.72, 0.71]  # differences 0.10, 0.09, 0.11
NOISE_A, NOISE_B = [0.70, 0.80, 0.75], [0.80, 0.70, 0.74]
SAME_A, SAME_B = [0.800, 0.810, 0.820, 0.805], [0.801, 0.809, 0.821, 0.804]


def test_bn_speed_is_one_paired_test_with_never_reached_as_the_horizon():
    df = rows("steps_to_target", bn=[20, 30, 20], no_bn=[50, 60, None], bn_lr4=[20, 20, 30],
              no_bn_lr4=[40, 50, 40])  # fmt: skip
    v = BN_SPEED.analyze(df)  # never reached: (6 epochs + 1) x 10 steps = 70
    assert v.verdict == "supported" and v.effect == pytest.approx((30 + 30 + 50) / 3)
    assert v.claim_type == "superiority" and "paired t over 3 seeds" in v.method
    assert "Median training time to the target" in v.explanation


def test_bn_speed_has_no_second_chance_at_a_higher_learning_rate():
    df = rows("steps_to_target", bn=[30, 20, 40], no_bn=[30, 30, 30], bn_lr4=[20, 20, 30],
              no_bn_lr4=[60, 50, 60])  # fmt: skip
    assert BN_SPEED.analyze(df).verdict == "inconclusive"
    slower = rows("steps_to_target", bn=[50, 50, 60], no_bn=[20, 25, 30], bn_lr4=[20, 20, 20],
                  no_bn_lr4=[20, 20, 20])  # fmt: skip
    assert BN_SPEED.analyze(slower).verdict == "not supported"


def test_bn_speed_is_invalid_when_too_few_runs_reach_the_target():
    df = rows("steps_to_target", bn=[20, 30, 20], no_bn=[None, None, 60])
    v = BN_SPEED.analyze(df)
    assert v.verdict == "invalid design" and "33% of no_bn's runs reached" in v.failed_check


@pytest.mark.parametrize(
    ("acc_gain", "loss_change", "verdict"),
    [
        (0.05, -0.2, "supported"),  # better test accuracy and lower test loss
        (0.05, +0.2, "not supported"),  # more accurate but worse calibrated: not both
        (-0.05, -0.2, "not supported"),
        (0.05, 0.0, "inconclusive"),  # the loss part cannot tell
    ],
)
def test_dropout_overfitting_needs_both_test_accuracy_and_test_loss(acc_gain, loss_change,
                                                                    verdict):  # fmt: skip
    base_acc, base_loss, wiggle = [0.60, 0.62, 0.61], [1.5, 1.6, 1.55], [0.01, -0.01, 0.0]
    df = pd.concat([
        rows("final_test_accuracy", p0_small=base_acc,
             p05_small=[a + acc_gain + w for a, w in zip(base_acc, wiggle, strict=True)]),
    ]).reset_index(drop=True)  # fmt: skip
    loss = {("p0_small", i): v for i, v in enumerate(base_loss)}
    loss |= {("p05_small", i): v + loss_change + (w * 20 if loss_change == 0 else w)
             for i, (v, w) in enumerate(zip(base_loss, wiggle, strict=True))}  # fmt: skip
    keys = zip(df["arm"], df["spec.seed"], strict=True)
    df["final_test_loss"] = [loss[k] for k in keys]
    v = DROPOUT_OVERFIT.analyze(df)
    assert v.verdict == verdict, v.explanation
    assert "final_test_loss, p05_small minus p0_small:" in v.explanation
    assert "intersection-union" in DROPOUT_OVERFIT.rule
    assert "deciding part" in v.method


def test_a_small_data_arm_that_does_not_overfit_makes_the_design_invalid():
    runs = [0.4, 0.42, 0.41]
    df = rows("final_test_accuracy", {"final_train_accuracy": 0.42}, p0_small=[0.3, 0.35, 0.32],
              p05_small=runs, **{"p0.1_small": runs, "p0.5_small": runs}
              ).assign(final_test_loss=1.0)  # fmt: skip
    for e in (DROPOUT_OVERFIT, P_BY_SIZE):
        v = e.analyze(df)
        assert v.verdict == "invalid design" and "p0_small did not overfit" in v.failed_check
        assert "0.420" in v.explanation


def test_small_and_full_training_sets_get_the_same_optimizer_steps():
    """The small arms once got about 12 SGD steps and could not overfit at all."""
    for e in (DROPOUT_OVERFIT, P_BY_SIZE):
        for name in ("ci", "quick", "full"):
            pr = PROFILES[name]
            steps = {}
            for arm, f in e.arms(pr).items():
                n = f.get("train_size") or pr.samples - 2 * round(0.2 * pr.samples)
                steps[arm] = f["epochs"] * (n // f["batch_size"])
            per_epoch = max(n // pr.batch_size for n in (pr.samples * 3 // 5,))
            assert max(steps.values()) - min(steps.values()) <= per_epoch, (e.key, name, steps)
            assert min(steps.values()) >= 200 * pr.epochs // 6


def test_an_experiment_without_results_is_inconclusive():
    empty = pd.DataFrame(columns=["arm"])
    for e in (BN_POSITION, DROPOUT_OVERFIT, MOMENTUM, BN_EVERY_LAYER):
        v = e.analyze(empty)
        assert v.verdict == "inconclusive" and "not enough finished runs" in v.explanation


@pytest.mark.parametrize(
    ("before", "after", "verdict"),
    [
        (HIGH, LOW, "supported"),
        (LOW, HIGH, "not supported"),
        (SAME_A, SAME_B, "equivalent"),  # placement did not matter, within 0.02
        (NOISE_A, NOISE_B, "inconclusive"),
    ],
)
def test_bn_position_paths(before, after, verdict):
    v = BN_POSITION.analyze(rows("final_test_accuracy", before=before, after=after))
    assert v.verdict == verdict and v.margin == 0.02


def test_an_arm_at_chance_makes_the_design_invalid():
    df = rows("final_test_accuracy", {"final_val_accuracy": 0.11}, before=HIGH, after=LOW)
    v = BN_POSITION.analyze(df)
    assert v.verdict == "invalid design"
    assert "arm before did not learn: median final_val_accuracy 0.110 against chance 0.100" in (
        v.failed_check
    )


@pytest.mark.parametrize(
    ("recalibrated", "verdict"),
    [(SAME_B, "supported"), ([x + 0.1 for x in SAME_B], "not supported")],
)
def test_eval_mode_is_judged_on_what_eval_leaves_not_against_train_mode(recalibrated, verdict):
    """Eval mode beating train mode with dropout on was a strawman; the question is whether
    re-estimating BN statistics after eval() still changes test accuracy."""
    df = rows("final_test_accuracy", {"mode_accuracy_gap": 0.1}, eval=SAME_A,
              recalibrated=recalibrated)  # fmt: skip
    v = EVAL_MODE.analyze(df)
    assert (v.verdict, v.claim_type) == (verdict, "equivalence")
    assert "across two batch compositions 0 in eval mode" in v.explanation


def test_the_scaling_rule_says_supported_on_classic_dropout_and_corrected_on_torchs():
    import torch

    classic = scaling_ratios(classic_dropout(0.3))
    assert classic == (pytest.approx(0.7, abs=0.01), pytest.approx(0.7))
    assert scaling_verdict(*classic, 0.3)[0] == "supported"  # the old rule returned NaN here
    assert scaling_verdict(*scaling_ratios(torch.nn.Dropout(0.3)), 0.3)[0] == "corrected"


def test_the_one_minus_p_statement_is_corrected_by_measurement_without_touching_the_rng():
    import torch

    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    v = TEST_TIME_SCALING.analyze(pd.DataFrame(columns=["arm"]))
    assert torch.equal(torch.random.get_rng_state(), before)
    assert v.verdict == "corrected" and "1/(1 - p) = 1.429" in v.explanation
    assert "Classic dropout" in v.explanation and v.effect == 1.0
    assert TEST_TIME_SCALING.specs(PROFILES["quick"]) == []  # a measurement, no jobs


def test_example_networks_paths():
    def df(arms):
        return pd.DataFrame(
            [{"arm": a, "final_val_loss": 0.5, "mode_output_rel_diff": 0.1,
              "train_samples_per_s": 1000.0} for a in arms]
        )  # fmt: skip

    assert EXAMPLES.analyze(df(["simplenet", "dropoutnet", "net"])).verdict == "supported"
    assert EXAMPLES.analyze(df(["simplenet", "net"])).verdict == "not supported"
    assert EXAMPLES.analyze(pd.DataFrame(columns=["arm"])).verdict == "inconclusive"


@pytest.mark.parametrize("profile", list(PROFILES))
def test_every_experiment_builds_valid_labelled_specs(profile):
    for e in suites()["article"].experiments:
        specs = e.specs(PROFILES[profile])
        assert all(label.startswith(f"{e.key}:") for label, _ in specs)
        assert specs or e is TEST_TIME_SCALING


def test_the_report_lists_every_verdict_with_its_type_and_method():
    s = suites()["article"]
    verdicts = [
        e.analyze(rows("final_test_accuracy", before=HIGH, after=LOW)) for e in s.experiments
    ]
    text = markdown(s, "suite-article-ci-x", verdicts)
    for e, v in zip(s.experiments, verdicts, strict=True):
        assert f"## {e.key}: {v.verdict}" in text and e.rule in text
    assert "| bn_before_activation | superiority | 0.02 | **supported** |" in text
    assert "paired t over 3 seeds (scipy.stats.ttest_1samp on the differences)" in text


@pytest.mark.parametrize(
    ("tanh_after", "verdict"),
    [(HIGH, "supported"), (LOW, "inconclusive"), ([x - 0.2 for x in HIGH], "not supported")],
)
def test_dropout_position_is_judged_right_before_against_right_after_the_activation(
    tanh_after, verdict
):
    """Every activation where the order can matter must agree (an intersection-union test);
    the old alternative arm moved dropout before BN instead."""
    arms = {"after_sigmoid": HIGH, "before_sigmoid": LOW, "after_gelu": HIGH,
            "before_gelu": LOW, "after_tanh": tanh_after, "before_tanh": LOW}  # fmt: skip
    v = DROPOUT_POSITION.analyze(rows("final_test_accuracy", **arms))
    assert v.verdict == verdict
    assert "largest difference 0 over 10^5 units" in v.explanation  # ReLU: the order is moot
    specs = dict(DROPOUT_POSITION.specs(PROFILES["ci"]))
    assert {s.dropout_position for s in specs.values()} == {"after_activation",
                                                            "before_activation"}  # fmt: skip
    assert {s.activation for s in specs.values()} == {"sigmoid", "tanh", "gelu"}


def test_with_relu_dropout_before_or_after_the_activation_gives_identical_outputs():
    import torch
    from torch import nn

    x = torch.randn(256, 8)
    outs = []
    for order in ((nn.Dropout(0.3), nn.ReLU()), (nn.ReLU(), nn.Dropout(0.3))):
        torch.manual_seed(0)
        outs.append(nn.Sequential(*order).train()(x))
    assert torch.equal(outs[0], outs[1])


def test_momentum_default_is_a_non_inferiority_claim_with_holm():
    arms = {a: [x + 0.05 for x in LOW] for a in ("m0.01", "m0.3", "m0.9", "cumulative")}
    df = rows("final_test_accuracy", {"bn_mean_gap": 0.1}, **{"m0.1": HIGH, **arms})
    v = MOMENTUM.analyze(df)
    assert (v.verdict, v.claim_type) == ("supported", "non-inferiority")
    arms["m0.9"] = [x + 0.2 for x in LOW]
    v = MOMENTUM.analyze(rows("final_test_accuracy", **{"m0.1": HIGH, **arms}))
    assert v.verdict == "not supported" and "m0.9 beats m0.1" in v.explanation
    noisy = {a: NOISE_A for a in arms}
    v = MOMENTUM.analyze(rows("final_test_accuracy", **{"m0.1": NOISE_B, **noisy}))
    assert v.verdict == "inconclusive" and "detects an effect of" in v.explanation


@pytest.mark.parametrize(
    ("low_p", "half_p", "verdict"), [(HIGH, LOW, "supported"), (LOW, HIGH, "not supported")]
)
def test_lower_p_for_small_data_paths(low_p, half_p, verdict):
    arms = {"p0.1_small": low_p, "p0.5_small": half_p, "p0.1_full": LOW, "p0.5_full": HIGH,
            "p0_small": LOW}  # fmt: skip
    df = rows("final_test_accuracy", **arms)
    assert P_BY_SIZE.analyze(df).verdict == verdict


@pytest.mark.parametrize(
    ("fc", "conv", "verdict"), [(HIGH, LOW, "supported"), (LOW, HIGH, "not supported")]
)
def test_fc_versus_conv_dropout_paths(fc, conv, verdict):
    df = rows("final_test_accuracy", fc_only=fc, conv_element=conv, conv_channel=conv,
              weight_decay=HIGH)  # fmt: skip
    v = FC_VS_CONV.analyze(df)
    assert v.verdict == verdict and "weight decay" in v.explanation


def test_fc_versus_conv_compares_at_one_p_on_images_a_cnn_learns():
    """p was confounded (0.5 for FC against 0.2 for conv), on synthetic images near chance."""
    specs = dict(FC_VS_CONV.specs(PROFILES["quick"]))
    dropped = [s for s in specs.values() if s.dropout_p > 0]
    assert len({s.dropout_p for s in dropped}) == 1 and len(dropped) == 3
    assert {(s.family, s.dataset) for s in specs.values()} == {("cnn", "digits")}


def test_bn_last_layer_is_an_equivalence_claim():
    df = rows("final_test_accuracy", bn_all=SAME_A, bn_not_last=SAME_B, no_bn=LOW)
    v = BN_EVERY_LAYER.analyze(df)
    assert (v.verdict, v.claim_type, v.margin) == ("supported", "equivalence", 0.02)
    df = rows("final_test_accuracy", bn_all=HIGH, bn_not_last=LOW, no_bn=LOW)
    assert BN_EVERY_LAYER.analyze(df).verdict == "not supported"
    df = rows("final_test_accuracy", bn_all=NOISE_A, bn_not_last=NOISE_B, no_bn=LOW)
    assert BN_EVERY_LAYER.analyze(df).verdict == "inconclusive"
