"""Suite `papers`: published BN and dropout results, reproduced at small scale."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from core.suites.model import Experiment, Profile, Suite
from core.suites.verdicts import (
    Verdict,
    arm_values,
    decide,
    difference,
    epochs_to_target,
    fmt_effect,
    from_effect,
)

MNIST_ROOT = "data"


def _mnist_or_digits(p: Profile) -> dict:
    """MNIST where its files are present under data/, else scikit-learn's digits."""
    have = any((Path(MNIST_ROOT) / d).is_dir() for d in ("mnist", "MNIST"))
    if p.name == "full" and have:
        return {"dataset": "mnist", "data_root": MNIST_ROOT}
    return {"dataset": "digits"}


# --- Ioffe & Szegedy 2015, the MNIST experiment ---------------------------------------------


def _ioffe_arms(p: Profile) -> dict:
    base = {**p.base(), **_mnist_or_digits(p), "depth": 3, "width": 100,
            "activation": "sigmoid", "dropout_p": 0.0, "target_val_accuracy": 0.9,
            "epochs": p.epochs * 2}  # fmt: skip
    return {"bn": {**base, "norm": "batchnorm"}, "no_bn": {**base, "norm": "none"}}


def _ioffe_analyze(df: pd.DataFrame) -> Verdict:
    e = IOFFE

    d = difference(epochs_to_target(df, "no_bn"), epochs_to_target(df, "bn"))
    acc = difference(
        arm_values(df, "bn", "final_val_accuracy"), arm_values(df, "no_bn", "final_val_accuracy")
    )
    return from_effect(
        e, decide(d, "positive"), "epochs saved by BN to 90% val accuracy", d,
        f"3 x 100 sigmoid units: BN saves {fmt_effect(d)} epochs to 90% validation accuracy "
        f"and ends {fmt_effect(acc)} accuracy points higher.",
    )  # fmt: skip


IOFFE = Experiment(
    key="ioffe_szegedy_mnist",
    claim="Ioffe & Szegedy 2015: BN lets a 3x100 sigmoid MLP reach a given accuracy faster.",
    rule="Supported if no-BN minus BN epochs to 90% val accuracy has a 95% CI above 0 (runs "
    "that never get there count as epochs + 1); not supported if below 0. MNIST where present "
    "under data/, else digits.",
    arms=_ioffe_arms,
    analyze=_ioffe_analyze,
    evidence="epochs_to_target",
)


def _ioffe_stability_analyze(df: pd.DataFrame) -> Verdict:
    e = IOFFE_STABILITY
    bn, no_bn = (
        arm_values(df, "bn", "last_hidden_shift"),
        arm_values(df, "no_bn", "last_hidden_shift"),
    )
    d = difference(no_bn, bn)
    means = f"BN {bn.mean():.3f}, no BN {no_bn.mean():.3f}" if len(bn) and len(no_bn) else "no runs"
    return from_effect(
        e, decide(d, "positive"), "no-BN minus BN shift of last-hidden-layer inputs", d,
        f"By the end of training, the median input to each sigmoid of the last hidden layer "
        f"has moved, on average, by this many initial 15-85th percentile spreads: {means}. "
        f"The difference is {fmt_effect(d)}. Ioffe & Szegedy's figure 1 shows the same "
        f"measure as percentile bands per step; the Jobs page charts the bands per epoch.",
    )  # fmt: skip


IOFFE_STABILITY = Experiment(
    key="ioffe_szegedy_stability",
    claim="Ioffe & Szegedy 2015: with BN, the inputs to the last hidden layer's sigmoids stay "
    "more stable over training.",
    rule="Reads the runs of ioffe_szegedy_mnist. The shift of a run is the mean over the last "
    "hidden layer's units of |median input now - median input at initialization|, in units of "
    "the mean initial 15-85th percentile spread, measured on 1024 validation samples with "
    "batch statistics and dropout off. Supported if no-BN minus BN final shift has a 95% CI "
    "above 0; not supported if below 0.",
    arms=_ioffe_arms,
    analyze=_ioffe_stability_analyze,
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


def _srivastava_analyze(df: pd.DataFrame) -> Verdict:
    e = SRIVASTAVA
    acc = "final_val_accuracy"
    d = difference(arm_values(df, "drop0.5", acc), arm_values(df, "drop0.8", acc))
    low = difference(arm_values(df, "drop0.5", acc), arm_values(df, "drop0.2", acc))
    gain_full = difference(arm_values(df, "drop0.5", acc), arm_values(df, "drop0.0", acc))
    gain_small = difference(
        arm_values(df, "drop0.5_small", acc), arm_values(df, "drop0.0_small", acc)
    )
    return from_effect(
        e, decide(d, "positive"), "val accuracy, drop 0.5 (retain 0.5) minus drop 0.8 "
        "(retain 0.2)", d, f"Dropping half the units scores {fmt_effect(d)} accuracy points "
        f"more than dropping 80%, and {fmt_effect(low)} against dropping 20%. Dataset size: "
        f"dropout 0.5 against none gains {fmt_effect(gain_full)} on the full training set and "
        f"{fmt_effect(gain_small)} on a small one. The paper's p is the retain probability: "
        "its p = 0.5 is PyTorch's p = 0.5, its p = 0.8 is 0.2.",
    )  # fmt: skip


SRIVASTAVA = Experiment(
    key="srivastava_retain_probability",
    claim="Srivastava et al. 2014: retaining about half the hidden units works well; retaining "
    "very few (0.2) hurts.",
    rule="Supported if val accuracy at drop 0.5 minus drop 0.8 has a 95% CI above 0; not "
    "supported if below 0.",
    arms=_srivastava_arms,
    analyze=_srivastava_analyze,
    evidence="final_val_accuracy",
)


# --- Li et al. 2019: variance shift, and dropout only after the last BN -----------------------


def _li_arms(p: Profile) -> dict:
    base = {**p.base(), "family": "cnn", "depth": 2, "width": max(p.width // 4, 8),
            "synthetic_image_size": 16, "norm": "batchnorm", "dropout_p": 0.5}  # fmt: skip
    return {
        "dropout_before_bn": {**base, "dropout_layers": "conv_only"},
        "dropout_after_last_bn": {**base, "dropout_layers": "fc_only", "bn_last_layer": False},
        "recalibrated": {**base, "dropout_layers": "conv_only", "bn_recalibrate": True},
    }


def _li_analyze(df: pd.DataFrame) -> Verdict:
    e = LI
    ratio = "bn_variance_ratio"
    shifted = arm_values(df, "dropout_before_bn", ratio)
    d = difference(np.ones_like(shifted), shifted) if len(shifted) >= 2 else None
    fixed = arm_values(df, "dropout_after_last_bn", ratio)
    recal = arm_values(df, "recalibrated", ratio)
    acc = difference(
        arm_values(df, "dropout_after_last_bn", "best_val_accuracy"),
        arm_values(df, "dropout_before_bn", "best_val_accuracy"),
    )
    acc_recal = difference(
        arm_values(df, "recalibrated", "final_val_accuracy"),
        arm_values(df, "dropout_before_bn", "final_val_accuracy"),
    )
    return from_effect(
        e, decide(d, "positive"), "1 minus BN variance ratio (population / running) with "
        "dropout(0.5) feeding BN", d, f"With dropout feeding the next conv's BN, the BN "
        f"layers' population variance falls short of their running variance by {fmt_effect(d)}"
        f" (the variance shift). Fix 1, dropout only after the last BN: ratio "
        f"{_mean(fixed):.3f}, accuracy {fmt_effect(acc)}. Fix 2, BN statistics re-estimated "
        f"with dropout off: ratio {_mean(recal):.3f}, final accuracy {fmt_effect(acc_recal)}.",
    )  # fmt: skip


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else float("nan")


LI = Experiment(
    key="li_variance_shift",
    claim="Li et al. 2019: dropout before BN shifts the variance between train and eval; "
    "dropout only after the last BN, or re-estimated BN statistics, avoid it.",
    rule="Supported if 1 minus the mean BN variance ratio with dropout feeding BN has a 95% CI "
    "above 0; not supported if below 0. Both fixes' ratios and accuracies are reported.",
    arms=_li_arms,
    analyze=_li_analyze,
    evidence="bn_variance_ratio",
)


# --- Wu & Johnson 2021: the train/test inconsistency at small batch sizes ---------------------


def _wu_arms(p: Profile) -> dict:
    base = {**p.base(), "norm": "batchnorm", "dropout_p": 0.0}
    arms = {f"batch{b}": {**base, "batch_size": b} for b in (4, 128)}
    arms["batch4_precise"] = {**base, "batch_size": 4, "bn_recalibrate": True}
    return arms


def _wu_analyze(df: pd.DataFrame) -> Verdict:
    e = WU_JOHNSON
    m = "mode_output_rel_diff"
    d = difference(arm_values(df, "batch4", m), arm_values(df, "batch128", m))
    precise = difference(
        arm_values(df, "batch4_precise", "final_val_accuracy"),
        arm_values(df, "batch4", "final_val_accuracy"),
    )
    return from_effect(
        e, decide(d, "positive"), "train/eval output difference, batch 4 minus batch 128", d,
        f"Training outputs on batch statistics differ from eval outputs on running statistics "
        f"by {fmt_effect(d)} more (mean relative difference) at batch 4 than at batch 128. "
        f"At batch 4, precise (re-estimated) statistics instead of the EMA change val "
        f"accuracy by {fmt_effect(precise)}.",
    )  # fmt: skip


WU_JOHNSON = Experiment(
    key="wu_johnson_small_batch",
    claim="Wu & Johnson 2021: at small batch sizes BN's train and test behaviour diverge.",
    rule="Supported if the train/eval relative output difference at batch 4 minus batch 128 "
    "has a 95% CI above 0; not supported if below 0.",
    arms=_wu_arms,
    analyze=_wu_analyze,
    evidence="mode_output_rel_diff",
)


PAPERS = Suite(
    name="papers",
    description="Published BN and dropout results, reproduced at small scale.",
    experiments=(IOFFE, IOFFE_STABILITY, SRIVASTAVA, LI, WU_JOHNSON),
)
