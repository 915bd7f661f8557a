"""Suite `article`, claims 4-8: where dropout goes, the defaults for momentum and p, dropout in
FC vs conv layers, and BN in every layer. Rules are in each Experiment and docs/suites.md."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from core.suites.claims import AllOf, Equivalence, NonInferiority, Superiority, by_seed, compare
from core.suites.guards import Learned, Overfits, arms_of
from core.suites.model import Experiment, Profile
from core.suites.papers import mnist_or_digits
from core.suites.stats import fmt

ACC = "final_test_accuracy"  # the final model on the held-out test split, measured once
MARGIN = 0.02  # accuracy points below which two arms count as the same


def small_train_size(p: Profile) -> int:
    return max(p.samples // 16, 128)


def overfit_steps(p: Profile) -> int:
    """Optimizer steps for every arm of a small-against-full design: enough for a network
    without dropout to fit its small training set (train accuracy 1.0 in 200 steps at quick)."""
    return 200 * p.epochs // 6


def epochs_for(p: Profile, train_size: int | None) -> int:
    """Epochs that give `overfit_steps` optimizer steps on this many training samples."""
    n = train_size or p.samples - 2 * round(0.2 * p.samples)  # val and test take 0.2 each
    return max(1, math.ceil(overfit_steps(p) / max(n // p.batch_size, 1)))


def sized(p: Profile, fields: dict, train_size: int | None) -> dict:
    """`fields` at `train_size` (None: the full split), trained for the same steps."""
    size = {"train_size": train_size} if train_size else {}
    return {**fields, **size, "epochs": epochs_for(p, train_size)}


# --- 4. Dropout after the activation ---------------------------------------------------------


POSITION_ACTIVATIONS = ("sigmoid", "tanh", "gelu")  # where the order can matter


def _dropout_position_arms(p: Profile) -> dict:
    base = {**p.base(), "norm": "batchnorm", "dropout_p": 0.3}
    return {
        f"{where}_{act}": {**base, "activation": act, "dropout_position": f"{where}_activation"}
        for act in POSITION_ACTIVATIONS
        for where in ("after", "before")
    }


def relu_commutes_with_dropout(n: int = 100_000, p: float = 0.3) -> float:
    """Largest |relu(dropout(x)) - dropout(relu(x))| with one mask: 0, since the mask and its
    scale 1/(1 - p) are non-negative. So with ReLU the order cannot change anything."""
    rng = np.random.default_rng(0)
    x, keep = rng.normal(size=n), rng.random(n) >= p
    scale = keep / (1 - p)
    return float(np.abs(np.maximum(x * scale, 0) - np.maximum(x, 0) * scale).max())


def _dropout_position_explain(df: pd.DataFrame) -> str:
    fed = {a: by_seed(df, a, "bn_variance_ratio_dropout_fed") for a in arms_of(df)}
    ratios = ", ".join(f"{a} {v.mean():.3f}" for a, v in fed.items() if len(v))
    return (
        f"With ReLU the order is not a choice: one mask gives identical outputs either way "
        f"(measured largest difference {relu_commutes_with_dropout():g} over 10^5 units), so "
        "the claim is tested with sigmoid, tanh and GELU. BN variance ratio over the layers "
        f"dropout feeds: {ratios or 'n/a'}."
    )


DROPOUT_POSITION = Experiment(
    key="dropout_after_activation",
    evidence=ACC,
    claim="Apply dropout after the activation function.",
    test=AllOf(
        tuple(
            Superiority(f"after_{a}", f"before_{a}", ACC, margin=MARGIN)
            for a in POSITION_ACTIVATIONS
        )
    ),
    guards=(Learned(),),
    note="Dropout right after the activation against right before it (Linear, BN, dropout, "
    "activation), with dropout 0.3, for each activation where the order can matter.",
    arms=_dropout_position_arms,
    explain=_dropout_position_explain,
)


# --- 5. Momentum 0.1 is a good default ---------------------------------------------------------

MOMENTA = {"m0.01": 0.01, "m0.1": 0.1, "m0.3": 0.3, "m0.9": 0.9, "cumulative": None}


def _momentum_arms(p: Profile) -> dict:
    base = {**p.base(), "norm": "batchnorm", "dropout_p": 0.0}
    return {arm: {**base, "bn_momentum": m} for arm, m in MOMENTA.items()}


def _momentum_explain(df: pd.DataFrame) -> str:
    gaps = ", ".join(
        f"{a} {by_seed(df, a, 'bn_mean_gap').mean():.3f}"
        for a in MOMENTA
        if len(by_seed(df, a, "bn_mean_gap"))
    )
    return f"Running-mean gap to the population, in running std units: {gaps or 'n/a'}."


MOMENTUM = Experiment(
    key="momentum_0_1_default",
    evidence=ACC,
    claim="BN momentum 0.1 is a good default.",
    test=NonInferiority("m0.1", tuple(a for a in MOMENTA if a != "m0.1"), ACC, MARGIN),
    guards=(Learned(),),
    arms=_momentum_arms,
    explain=_momentum_explain,
)


# --- 6. p = 0.5, lower on very small datasets ------------------------------------------------


def _p_arms(pr: Profile) -> dict:
    base = {**pr.base(), "norm": "none", "width": pr.width * 2}
    small = small_train_size(pr)
    arms = {"p0_small": sized(pr, {**base, "dropout_p": 0.0}, small)}  # must overfit
    for p in (0.1, 0.5):
        arms[f"p{p}_small"] = sized(pr, {**base, "dropout_p": p}, small)
        arms[f"p{p}_full"] = sized(pr, {**base, "dropout_p": p}, None)
    return arms


def _p_explain(df: pd.DataFrame) -> str:
    full = compare(df, "p0.5_full", "p0.1_full", ACC)
    return f"On the full training set p=0.5 scores {fmt(full)} more than p=0.1."


P_BY_SIZE = Experiment(
    key="lower_p_for_small_data",
    evidence=ACC,
    claim="p = 0.5 is a starting point; very small datasets want a lower p.",
    test=Superiority("p0.1_small", "p0.5_small", ACC, margin=MARGIN),
    guards=(Learned(), Overfits("p0_small")),
    note="Every arm trains for the same number of optimizer steps, small or full, enough for "
    "p0_small (no dropout) to fit the small training set: the check above.",
    arms=_p_arms,
    explain=_p_explain,
)


# --- 7. Dropout in FC layers; weight decay for conv layers -----------------------------------


FC_CONV_P = 0.3  # one p for every dropout arm: the claim is about where, not how much


def _fc_conv_arms(p: Profile) -> dict:
    base = {**p.base(), **mnist_or_digits(p), "family": "cnn", "depth": 2,
            "width": max(p.width // 4, 8), "norm": "batchnorm"}  # fmt: skip
    return {
        "fc_only": {**base, "dropout_p": FC_CONV_P, "dropout_layers": "fc_only"},
        "conv_element": {**base, "dropout_p": FC_CONV_P, "dropout_layers": "conv_only"},
        "conv_channel": {**base, "dropout_p": FC_CONV_P, "dropout_layers": "conv_only",
                         "dropout_kind": "channel"},
        "weight_decay": {**base, "dropout_p": 0.0, "weight_decay": 5e-4},
    }  # fmt: skip


def _fc_conv_explain(df: pd.DataFrame) -> str:
    ch = compare(df, "fc_only", "conv_channel", ACC)
    wd = compare(df, "weight_decay", "conv_element", ACC)
    return (
        f"FC-only dropout against channel dropout: {fmt(ch)}; weight decay alone against "
        f"element-wise conv dropout: {fmt(wd)}."
    )


FC_VS_CONV = Experiment(
    key="dropout_fc_not_conv",
    evidence=ACC,
    claim="Dropout works better in fully connected layers than in conv layers. That conv "
    "layers may suit weight decay better is reported, not judged.",
    test=Superiority("fc_only", "conv_element", ACC, margin=MARGIN),
    guards=(Learned(),),
    note=f"Every dropout arm uses p = {FC_CONV_P}. The CNN reads digits as 1x8x8 images "
    "(MNIST in the full profile when its files are under data/), which it learns on a CPU.",
    arms=_fc_conv_arms,
    explain=_fc_conv_explain,
)


# --- 8. BN in every layer; not needed before the output ---------------------------------------


def _bn_layers_arms(p: Profile) -> dict:
    base = {**p.base(), "dropout_p": 0.0, "depth": 3}
    return {
        "bn_all": {**base, "norm": "batchnorm", "bn_last_layer": True},
        "bn_not_last": {**base, "norm": "batchnorm", "bn_last_layer": False},
        "no_bn": {**base, "norm": "none"},
    }


def _bn_layers_explain(df: pd.DataFrame) -> str:
    every = compare(df, "bn_all", "no_bn", ACC)
    return f"BN everywhere against no BN at all: {fmt(every)}."


BN_EVERY_LAYER = Experiment(
    key="bn_last_layer_optional",
    evidence=ACC,
    claim="BN can go in all layers, but BN before the last layer may not be necessary.",
    test=Equivalence("bn_all", "bn_not_last", ACC, MARGIN),
    guards=(Learned(),),
    arms=_bn_layers_arms,
    explain=_bn_layers_explain,
)
