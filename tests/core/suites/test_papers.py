"""The papers suite's analyses on constructed rows, through each verdict path."""

import pandas as pd
import pytest

from core.suites import PROFILES
from core.suites.papers import IOFFE, IOFFE_STABILITY, LI, PAPERS, SRIVASTAVA, WU_JOHNSON
from tests.core.suites.rows import rows

HIGH, LOW = [0.80, 0.81, 0.82], [0.70, 0.72, 0.71]  # differences 0.10, 0.09, 0.11
DIGITS = {"spec.dataset": "digits", "spec.epochs": 12}


@pytest.mark.parametrize(
    ("bn", "no_bn", "verdict"),
    [
        ([30, 40, 30], [90, None, 100], "supported"),  # None: never reached, (12 + 1) x 10
        ([90, 100, 90], [30, 45, 30], "not supported"),
    ],
)
def test_ioffe_paths(bn, no_bn, verdict):
    v = IOFFE.analyze(rows("steps_to_target", DIGITS, bn=bn, no_bn=no_bn))
    assert v.verdict == verdict and "paired t over 3 seeds" in v.method


def test_ioffe_on_digits_judges_learning_against_ten_classes():
    df = rows("steps_to_target", {**DIGITS, "final_val_accuracy": 0.15}, bn=[30, 40, 30],
              no_bn=[90, 80, 100])  # fmt: skip
    v = IOFFE.analyze(df)
    assert v.verdict == "invalid design" and "against chance 0.100" in v.failed_check


@pytest.mark.parametrize(
    ("bn", "no_bn", "verdict"),
    [
        ([0.10, 0.12, 0.11], [0.90, 1.10, 1.00], "supported"),
        ([0.90, 1.10, 1.00], [0.10, 0.12, 0.11], "not supported"),
        ([0.40, 0.60, 0.50], [0.45, 0.55, 0.65], "inconclusive"),
    ],
)
def test_ioffe_stability_paths(bn, no_bn, verdict):
    v = IOFFE_STABILITY.analyze(rows("last_hidden_shift", bn=bn, no_bn=no_bn))
    assert v.verdict == verdict and "BN 0." in v.explanation


def test_ioffe_stability_reads_the_speed_runs_and_submits_none_of_its_own():
    quick = PROFILES["quick"]
    labels = [label for label, _ in PAPERS.specs(["ioffe_szegedy_stability"], quick)]
    assert labels == [label for label, _ in IOFFE.specs(quick)]
    assert {label.split(":")[0] for label in labels} == {"ioffe_szegedy_mnist"}
    both = PAPERS.specs(["ioffe_szegedy_mnist", "ioffe_szegedy_stability"], quick)
    assert len(both) == len(labels)  # the shared runs are submitted once


@pytest.mark.parametrize(
    ("half", "most", "verdict"), [(HIGH, LOW, "supported"), (LOW, HIGH, "not supported")]
)
def test_srivastava_paths(half, most, verdict):
    df = rows("final_test_accuracy", **{"drop0.5": half, "drop0.8": most, "drop0.2": half})
    v = SRIVASTAVA.analyze(df)
    assert v.verdict == verdict and "retain probability" in v.explanation
    assert "Dataset size" in v.explanation


@pytest.mark.parametrize(
    ("ratios", "verdict"),
    [
        ([0.60, 0.62, 0.58], "supported"),
        ([1.20, 1.25, 1.22], "not supported"),
        ([0.9, 1.1, 1.0], "inconclusive"),
    ],
)
def test_li_variance_shift_paths(ratios, verdict):
    """Judged on the BN layers dropout feeds: a mean over all layers mixed in layers with no
    dropout upstream (per layer 1.03, 0.45 and 0.16 averaged to 0.546)."""
    df = rows("bn_variance_ratio_dropout_fed", {"bn_variance_ratio": 1.0},
              dropout_before_bn=ratios, dropout_after_last_bn=[None] * 3)  # fmt: skip
    v = LI.analyze(df)
    assert v.verdict == verdict and "ratio over all BN layers 1.000" in v.explanation
    assert v.effect_name == "bn_variance_ratio_dropout_fed, dropout_before_bn minus 1"


def test_li_runs_on_images_the_cnn_learns():
    specs = dict(LI.specs(PROFILES["quick"]))
    assert {(s.family, s.dataset) for s in specs.values()} == {("cnn", "digits")}


@pytest.mark.parametrize(
    ("precise", "ema", "verdict"),
    [
        ([0.85, 0.86, 0.84], [0.60, 0.62, 0.58], "supported"),
        ([0.60, 0.62, 0.58], [0.85, 0.86, 0.84], "not supported"),
    ],
)
def test_wu_johnson_tests_what_small_batch_statistics_cost_at_inference(precise, ema, verdict):
    """Not train-mode outputs evaluated in chunks of 4 against eval mode, which differ by
    construction: eval-mode test accuracy with precise statistics against the EMA."""
    df = rows("final_test_accuracy", batch4_precise=precise, batch4=ema, batch128=ema,
              batch128_precise=ema)  # fmt: skip
    v = WU_JOHNSON.analyze(df)
    assert v.verdict == verdict and "At batch 128 the same re-estimation" in v.explanation


def test_precise_bn_re_estimates_with_a_large_batch_whatever_the_training_batch(monkeypatch):
    import core.engine.run as bench
    from core.spec.schema import BenchSpec

    calls, real = [], bench.recalibrate_bn
    monkeypatch.setattr(bench, "recalibrate_bn",
                        lambda model, x, b: calls.append(b) or real(model, x, b))  # fmt: skip
    bench.run(BenchSpec(epochs=1, batch_size=4, synthetic_samples=64, depth=1, width=8,
                        device="cpu", bn_recalibrate=True, dropout_p=0.0, timed_steps=2,
                        warmup_steps=1, repeats=1, infer_batch_sizes=(4,)))  # fmt: skip
    assert calls == [bench.RECALIBRATION_BATCH]


def test_no_results_is_inconclusive():
    for e in PAPERS.experiments:
        assert e.analyze(pd.DataFrame(columns=["arm"])).verdict == "inconclusive"


@pytest.mark.parametrize("profile", list(PROFILES))
def test_every_papers_spec_is_valid(profile):
    for e in PAPERS.experiments:
        assert e.specs(PROFILES[profile])


def test_ioffe_gives_the_arm_without_bn_a_horizon_it_can_reach_the_target_in():
    """At 12 epochs and lr 0.05 the no-BN arm never got to 90% on digits (it needs about 30
    epochs at lr 0.2), so "BN saves 10.7 epochs" was an artifact of censoring."""
    arms = IOFFE.arms(PROFILES["quick"])
    assert arms["bn"]["epochs"] == arms["no_bn"]["epochs"] >= 40
    assert arms["bn"]["lr"] == arms["no_bn"]["lr"] == 0.2


def test_wu_johnson_says_batch_128_is_consistent_only_when_equivalence_is_shown():
    """A CI that straddles 0 at batch 128 is not "only inconsistent at small batch"."""
    precise, ema = [0.85, 0.86, 0.84], [0.60, 0.62, 0.58]
    same = rows("final_test_accuracy", batch4_precise=precise, batch4=ema, batch128=ema,
                batch128_precise=[0.601, 0.619, 0.581])  # fmt: skip
    assert "no inconsistency that matters at batch 128" in WU_JOHNSON.analyze(same).explanation
    noisy = rows("final_test_accuracy", batch4_precise=precise, batch4=ema, batch128=ema,
                 batch128_precise=[0.70, 0.55, 0.60])  # fmt: skip
    assert "not shown within +-0.02" in WU_JOHNSON.analyze(noisy).explanation
