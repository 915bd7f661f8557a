"""Suite `papers`: published BN and dropout results, reproduced at small scale."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.suites.claims import Superiority, by_seed, compare
from core.suites.guards import Learned, Reaches
from core.suites.model import Experiment, Profile, Suite
from core.suites.stats import fmt

ACC = "final_test_accuracy"  # the final model on the held-out test split, measured once
MARGIN = 0.02

MNIST_ROOT = "data"


def mnist_or_digits(p: Profile) -> dict:
    """MNIST where its files are present under data/, else scikit-learn's digits."""
    have = any((Path(MNIST_ROOT) / d).is_dir() for d in ("mnist", "MNIST"))
    if p.name == "full" and have:
        return {"dataset": "mnist", "data_root": MNIST_ROOT}
    return {"dataset": "digits"}


# --- Ioffe & Szegedy 2015, the MNIST experiment ---------------------------------------------


def _ioffe_arms(p: Profile) -> dict:
    # A horizon both arms reach the target within: without BN the sigmoid MLP needs about
    # 30 epochs on digits at lr 0.2 (it stays near 0.82 after 40 at lr 0.05).
    base = {**p.base(), **mnist_or_digits(p), "depth": 3, "width": 100,
            "activation": "sigmoid", "dropout_p": 0.0, "target_val_accuracy": 0.9,
            "lr": 0.2, "epochs": p.epochs * 8}  # fmt: skip
    return {"bn": {**base, "norm": "batchnorm"}, "no_bn": {**base, "norm": "none"}}


def _ioffe_explain(df: pd.DataFrame) -> str:
    acc = compare(df, "bn", "no_bn", ACC)
    return f"3 x 100 sigmoid units; BN ends {fmt(acc)} accuracy points higher."


IOFFE = Experiment(
    key="ioffe_szegedy_mnist",
    claim="Ioffe & Szegedy 2015: BN lets a 3x100 sigmoid MLP reach a given accuracy faster.",
    test=Superiority("no_bn", "bn", "steps_to_target"),
    guards=(Learned(), Reaches(("bn", "no_bn"))),
    note="The target is 90% val accuracy; optimizer steps to it are a restricted mean (a run "
    "that never reaches it counts as one epoch past the horizon, so a censored arm gives a "
    "lower bound, and the check above needs half of each arm's runs to reach it). The "
    "horizon (8x the profile's epochs, lr 0.2 for both arms) is long enough for the arm "
    "without BN to get there. MNIST where present under data/, else "
    "digits.",
    arms=_ioffe_arms,
    explain=_ioffe_explain,
    evidence="steps_to_target",
)


def _ioffe_stability_explain(df: pd.DataFrame) -> str:
    bn, no_bn = by_seed(df, "bn", "last_hidden_shift"), by_seed(df, "no_bn", "last_hidden_shift")
    means = f"BN {bn.mean():.3f}, no BN {no_bn.mean():.3f}" if len(bn) and len(no_bn) else "no runs"
    return (
        "By the end of training, the median input to each sigmoid of the last hidden layer has "
        f"moved, on average, by this much, in the sigmoid's input units: {means}. Ioffe "
        "& Szegedy's figure 1 shows the same measure as percentile bands per step; the Jobs "
        "page charts the bands per epoch."
    )


IOFFE_STABILITY = Experiment(
    key="ioffe_szegedy_stability",
    claim="Ioffe & Szegedy 2015: with BN, the inputs to the last hidden layer's sigmoids stay "
    "more stable over training.",
    test=Superiority("no_bn", "bn", "last_hidden_shift"),
    guards=(Learned(),),
    note="Reads the runs of ioffe_szegedy_mnist. The shift of a run is the mean over the last "
    "hidden layer's units of |median input now - median input at initialization|, in the "
    "sigmoid's input units (one scale for both arms), measured on 1024 validation samples "
    "with batch statistics and dropout off.",
    arms=_ioffe_arms,
    explain=_ioffe_stability_explain,
    evidence="last_hidden_shift",
    runs_of="ioffe_szegedy_mnist",
    epoch_evidence="last_hidden_inputs",
)


# --- Srivastava et al. 2014: p is the retain probability there --------------------------------


def _srivastava_arms(p: Profile) -> dict:
    base = {**p.base(), "norm": "none", "width": p.width * 4}
    arms = {f"drop{q}": {**base, "dropout_p": q} for q in (0.2, 0.5, 0.8)}
    small = max(p.samples // 16, 128)  # their dataset-size study: dropout on little data
    arms["drop0.0_small"] = {**base, "dropout_p": 0.0, "train_size": small}
    arms["drop0.5_small"] = {**base, "dropout_p": 0.5, "train_size": small}
    arms["drop0.0"] = {**base, "dropout_p": 0.0}
    return arms


def _srivastava_explain(df: pd.DataFrame) -> str:
    low = compare(df, "drop0.5", "drop0.2", ACC)
    gain_full = compare(df, "drop0.5", "drop0.0", ACC)
    gain_small = compare(df, "drop0.5_small", "drop0.0_small", ACC)
    return (
        f"Drop 0.5 against drop 0.2: {fmt(low)}. Dataset size: dropout 0.5 against none gains "
        f"{fmt(gain_full)} on the full training set and {fmt(gain_small)} on a small one. The "
        "paper's p is the retain probability: its p = 0.5 is PyTorch's p = 0.5, its p = 0.8 "
        "is 0.2."
    )


SRIVASTAVA = Experiment(
    key="srivastava_retain_probability",
    claim="Srivastava et al. 2014: retaining half the hidden units beats retaining very few (0.2); "
    "half against 0.8 retained, and the dataset size, are reported, not judged.",
    test=Superiority("drop0.5", "drop0.8", ACC, margin=MARGIN),
    guards=(Learned(),),
    arms=_srivastava_arms,
    explain=_srivastava_explain,
    evidence=ACC,
)


# --- Li et al. 2019: variance shift, and dropout only after the last BN -----------------------


def _li_arms(p: Profile) -> dict:
    # Digits as 1x8x8 images: the CNN learns them on a CPU (on synthetic 16x16 images it sat
    # at val 0.11-0.16, so its accuracies meant nothing).
    base = {**p.base(), **mnist_or_digits(p), "family": "cnn", "depth": 2,
            "width": max(p.width // 4, 8), "norm": "batchnorm", "dropout_p": 0.5}  # fmt: skip
    return {
        "dropout_before_bn": {**base, "dropout_layers": "conv_only"},
        "dropout_after_last_bn": {**base, "dropout_layers": "fc_only", "bn_last_layer": False},
        "recalibrated": {**base, "dropout_layers": "conv_only", "bn_recalibrate": True},
    }


def _li_explain(df: pd.DataFrame) -> str:
    fixed = by_seed(df, "dropout_after_last_bn", "bn_variance_ratio")
    recal = by_seed(df, "recalibrated", "bn_variance_ratio_dropout_fed")
    acc = compare(df, "dropout_after_last_bn", "dropout_before_bn", ACC)
    acc_recal = compare(df, "recalibrated", "dropout_before_bn", ACC)
    return (
        f"Fix 1, dropout only after the last BN (no BN layer is fed by dropout): ratio over "
        f"all BN layers {_mean(fixed):.3f}, test accuracy {fmt(acc)}. Fix 2, BN statistics "
        f"re-estimated with dropout off: ratio over the dropout-fed layers "
        f"{_mean(recal):.3f}, test accuracy {fmt(acc_recal)}."
    )


def _mean(values: pd.Series) -> float:
    return float(values.mean()) if len(values) else float("nan")


LI = Experiment(
    key="li_variance_shift",
    claim="Li et al. 2019: dropout before BN shifts the variance between train and eval. The "
    "two fixes (dropout only after the last BN, re-estimated BN statistics) are reported, not "
    "judged.",
    test=Superiority(
        "dropout_before_bn", None, "bn_variance_ratio_dropout_fed", "negative", reference=1.0
    ),
    guards=(Learned(),),
    note="The ratio is population over running variance, averaged over the BN layers that "
    "dropout feeds (a layer without dropout upstream has no shift to show); below 1 is the "
    "shift. Both fixes' ratios and test accuracies are reported.",
    arms=_li_arms,
    explain=_li_explain,
    evidence="bn_variance_ratio_dropout_fed",
)


# --- Wu & Johnson 2021: the train/test inconsistency at small batch sizes ---------------------


def _wu_arms(p: Profile) -> dict:
    base = {**p.base(), "norm": "batchnorm", "dropout_p": 0.0}
    arms = {}
    for b in (4, 128):
        arms[f"batch{b}"] = {**base, "batch_size": b}
        arms[f"batch{b}_precise"] = {**base, "batch_size": b, "bn_recalibrate": True}
    return arms


def _wu_explain(df: pd.DataFrame) -> str:
    large = compare(df, "batch128_precise", "batch128", ACC)
    sizes = compare(df, "batch128", "batch4", ACC)
    modes = {a: by_seed(df, a, "mode_output_rel_diff") for a in ("batch4", "batch128")}
    diff = ", ".join(f"{a} {_mean(v):.3f}" for a, v in modes.items())
    if large is None:
        at_128 = "not enough runs"
    elif (p := large.equivalence_p(MARGIN)) < large.alpha:
        at_128 = f"within +-{MARGIN:g} by two one-sided tests (p = {p:.3g}): no inconsistency "
        at_128 += "that matters at batch 128"
    else:
        at_128 = f"not shown within +-{MARGIN:g} (two one-sided tests, p = {p:.3g})"
    return (
        f"At batch 128 the same re-estimation changes test accuracy by {fmt(large)}, "
        f"{at_128}. Batch 128 against batch 4 with EMA "
        f"statistics: {fmt(sizes)} (their step counts differ, so this is reported, not "
        f"judged). Relative difference of train- and eval-mode outputs: {diff}."
    )


WU_JOHNSON = Experiment(
    key="wu_johnson_small_batch",
    claim="Wu & Johnson 2021: at small batch sizes BN's train and test behaviour diverge.",
    test=Superiority("batch4_precise", "batch4", ACC),
    guards=(Learned(),),
    note="What diverges at a small batch is the statistics inference uses: the EMA of batch "
    "statistics of 4 samples against the population. So the test is whether re-estimating "
    "them (precise BN, with dropout off and a batch of 256, not the training batch of 4) "
    "raises eval-mode test accuracy of the network trained at batch 4.",
    arms=_wu_arms,
    explain=_wu_explain,
    evidence=ACC,
)


PAPERS = Suite(
    name="papers",
    description="Published BN and dropout results, reproduced at small scale.",
    experiments=(IOFFE, IOFFE_STABILITY, SRIVASTAVA, LI, WU_JOHNSON),
)
