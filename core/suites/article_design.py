"""Suite `article`, claims 4-8: where dropout goes, the defaults for momentum and p, dropout in
FC vs conv layers, and BN in every layer. Rules are in each Experiment and docs/suites.md."""

from __future__ import annotations

import pandas as pd

from core.suites.model import Experiment, Profile
from core.suites.verdicts import (
    Verdict,
    arm_values,
    decide,
    difference,
    equivalent,
    fmt_effect,
    from_effect,
)

ACC = "best_val_accuracy"
EQUIVALENCE = 0.02  # accuracy points below which two arms count as the same


# --- 4. Dropout after the activation ---------------------------------------------------------


def _dropout_position_arms(p: Profile) -> dict:
    base = {**p.base(), "norm": "batchnorm", "dropout_p": 0.3}
    return {
        "after_activation": {**base, "dropout_position": "after_activation"},
        "before_norm": {**base, "dropout_position": "before_norm"},
    }


def _dropout_position_analyze(df: pd.DataFrame) -> Verdict:
    e = DROPOUT_POSITION
    d = difference(arm_values(df, "after_activation", ACC), arm_values(df, "before_norm", ACC))
    shift = {a: arm_values(df, a, "bn_variance_ratio") for a in ("after_activation", "before_norm")}
    ratios = ", ".join(f"{a} {v.mean():.3f}" for a, v in shift.items() if len(v))
    return from_effect(
        e, decide(d, "positive"), "val accuracy, dropout after the activation minus before BN",
        d, f"Dropout after the activation reaches {fmt_effect(d)} accuracy points more than "
        f"dropout right before BN. Mean BN variance ratio (population / running; below 1 is "
        f"the variance shift of Li et al.): {ratios or 'n/a'}.",
    )  # fmt: skip


DROPOUT_POSITION = Experiment(
    key="dropout_after_activation",
    evidence="bn_variance_ratio",
    claim="Apply dropout after the activation function.",
    rule="Supported if best val accuracy with dropout after the activation minus dropout right "
    "before BN has a 95% CI above 0; not supported if below 0.",
    arms=_dropout_position_arms,
    analyze=_dropout_position_analyze,
)


# --- 5. Momentum 0.1 is a good default ---------------------------------------------------------

MOMENTA = {"m0.01": 0.01, "m0.1": 0.1, "m0.3": 0.3, "m0.9": 0.9, "cumulative": None}


def _momentum_arms(p: Profile) -> dict:
    base = {**p.base(), "norm": "batchnorm", "dropout_p": 0.0}
    return {arm: {**base, "bn_momentum": m} for arm, m in MOMENTA.items()}


def _momentum_analyze(df: pd.DataFrame) -> Verdict:
    e = MOMENTUM
    acc = "final_val_accuracy"
    default = arm_values(df, "m0.1", acc)
    others = {a: arm_values(df, a, acc) for a in MOMENTA if a != "m0.1"}
    beats = {a: difference(v, default) for a, v in others.items()}
    known = {a: d for a, d in beats.items() if d is not None}
    if not known or len(default) < 2:
        verdict, best, d = "inconclusive", None, None
    else:
        best, d = max(known.items(), key=lambda kv: kv[1].value)
        verdict = "not supported" if d.ci_low > 0 else "supported"
    gaps = ", ".join(
        f"{a} {arm_values(df, a, 'bn_mean_gap').mean():.3f}"
        for a in MOMENTA
        if len(arm_values(df, a, "bn_mean_gap"))
    )
    return from_effect(
        e, verdict, f"val accuracy, best other momentum ({best}) minus 0.1", d,
        f"The best alternative to momentum 0.1 scores {fmt_effect(d)} accuracy points more "
        f"(eval mode). Running-mean gap to the population, in running std units: "
        f"{gaps or 'n/a'}.",
    )  # fmt: skip


MOMENTUM = Experiment(
    key="momentum_0_1_default",
    evidence="final_val_accuracy",
    claim="BN momentum 0.1 is a good default.",
    rule="Not supported if some momentum in {0.01, 0.3, 0.9, cumulative} beats 0.1 in eval-mode "
    "val accuracy with a 95% CI above 0; supported otherwise (given results for all arms).",
    arms=_momentum_arms,
    analyze=_momentum_analyze,
)


# --- 6. p = 0.5, lower on very small datasets ------------------------------------------------


def _p_arms(pr: Profile) -> dict:
    base = {**pr.base(), "norm": "none", "width": pr.width * 2}
    small = max(pr.samples // 16, 128)
    arms = {}
    for p in (0.1, 0.5):
        arms[f"p{p}_small"] = {**base, "dropout_p": p, "train_size": small}
        arms[f"p{p}_full"] = {**base, "dropout_p": p}
    return arms


def _p_analyze(df: pd.DataFrame) -> Verdict:
    e = P_BY_SIZE
    acc = "final_val_accuracy"
    small = difference(arm_values(df, "p0.1_small", acc), arm_values(df, "p0.5_small", acc))
    full = difference(arm_values(df, "p0.5_full", acc), arm_values(df, "p0.1_full", acc))
    return from_effect(
        e, decide(small, "positive"), "val accuracy on the small set, p=0.1 minus p=0.5", small,
        f"On the small training set p=0.1 scores {fmt_effect(small)} accuracy points more "
        f"than p=0.5; on the full set p=0.5 scores {fmt_effect(full)} more than p=0.1.",
    )  # fmt: skip


P_BY_SIZE = Experiment(
    key="lower_p_for_small_data",
    evidence="final_val_accuracy",
    claim="p = 0.5 is a starting point; very small datasets want a lower p.",
    rule="Supported if, on the small training set, val accuracy at p=0.1 minus p=0.5 has a 95% "
    "CI above 0; not supported if below 0.",
    arms=_p_arms,
    analyze=_p_analyze,
)


# --- 7. Dropout in FC layers; weight decay for conv layers -----------------------------------


def _fc_conv_arms(p: Profile) -> dict:
    base = {**p.base(), "family": "cnn", "depth": 2, "width": max(p.width // 4, 8),
            "synthetic_image_size": 16, "norm": "batchnorm"}  # fmt: skip
    return {
        "fc_only": {**base, "dropout_p": 0.5, "dropout_layers": "fc_only"},
        "conv_element": {**base, "dropout_p": 0.2, "dropout_layers": "conv_only"},
        "conv_channel": {
            **base,
            "dropout_p": 0.2,
            "dropout_layers": "conv_only",
            "dropout_kind": "channel",
        },
        "weight_decay": {**base, "dropout_p": 0.0, "weight_decay": 5e-4},
    }


def _fc_conv_analyze(df: pd.DataFrame) -> Verdict:
    e = FC_VS_CONV
    fc = arm_values(df, "fc_only", ACC)
    d = difference(fc, arm_values(df, "conv_element", ACC))
    ch = difference(fc, arm_values(df, "conv_channel", ACC))
    wd = difference(arm_values(df, "weight_decay", ACC), arm_values(df, "conv_element", ACC))
    return from_effect(
        e, decide(d, "positive"), "val accuracy, FC-only dropout minus element-wise conv "
        "dropout", d, f"FC-only dropout scores {fmt_effect(d)} accuracy points more than "
        f"element-wise conv dropout and {fmt_effect(ch)} more than channel dropout; weight "
        f"decay alone scores {fmt_effect(wd)} more than element-wise conv dropout.",
    )  # fmt: skip


FC_VS_CONV = Experiment(
    key="dropout_fc_not_conv",
    evidence="best_val_accuracy",
    claim="Dropout works better in fully connected layers; conv layers may suit weight decay.",
    rule="Supported if best val accuracy with FC-only dropout minus element-wise conv dropout "
    "has a 95% CI above 0; not supported if below 0. The explanation adds channel dropout and "
    "weight decay.",
    arms=_fc_conv_arms,
    analyze=_fc_conv_analyze,
)


# --- 8. BN in every layer; not needed before the output ---------------------------------------


def _bn_layers_arms(p: Profile) -> dict:
    base = {**p.base(), "dropout_p": 0.0, "depth": 3}
    return {
        "bn_all": {**base, "norm": "batchnorm", "bn_last_layer": True},
        "bn_not_last": {**base, "norm": "batchnorm", "bn_last_layer": False},
        "no_bn": {**base, "norm": "none"},
    }


def _bn_layers_analyze(df: pd.DataFrame) -> Verdict:
    e = BN_EVERY_LAYER
    last = difference(arm_values(df, "bn_all", ACC), arm_values(df, "bn_not_last", ACC))
    every = difference(arm_values(df, "bn_all", ACC), arm_values(df, "no_bn", ACC))
    return from_effect(
        e, equivalent(last, EQUIVALENCE), "val accuracy, BN in every layer minus none before "
        "the output layer", last, f"Dropping BN from the block before the output layer "
        f"changes accuracy by {fmt_effect(last)} (BN everywhere minus not last); BN everywhere "
        f"against no BN at all: {fmt_effect(every)}. Equivalence margin: "
        f"{EQUIVALENCE:.2f} accuracy points.",
    )  # fmt: skip


BN_EVERY_LAYER = Experiment(
    key="bn_last_layer_optional",
    evidence="best_val_accuracy",
    claim="BN can go in all layers, but BN before the last layer may not be necessary.",
    rule=f"Supported if BN-everywhere minus BN-not-last val accuracy has a 95% CI inside "
    f"+-{EQUIVALENCE} (no difference that matters); not supported if above +{EQUIVALENCE} "
    "(the last BN helps); inconclusive otherwise.",
    arms=_bn_layers_arms,
    analyze=_bn_layers_analyze,
)
