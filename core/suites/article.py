"""Suite `article`: the claims of the seed article, each measured and judged.

Every rule is written here and in docs/suites.md. Effects are differences of arm means with
Welch's 95% CI over seeds; `decide` reads the CI against the claimed direction.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from core.suites.article_design import (
    BN_EVERY_LAYER,
    DROPOUT_POSITION,
    FC_VS_CONV,
    MOMENTUM,
    P_BY_SIZE,
)
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

TARGET = 0.6  # validation accuracy that "trained" means in the time-to-accuracy claim


# --- 1. BN speeds up training ------------------------------------------------------------


def _bn_speed_arms(p: Profile) -> dict:
    base = {**p.base(), "dropout_p": 0.0, "target_val_accuracy": TARGET}
    return {
        "bn": {**base, "norm": "batchnorm"},
        "no_bn": {**base, "norm": "none"},
        "bn_lr4": {**base, "norm": "batchnorm", "lr": base["lr"] * 4},
        "no_bn_lr4": {**base, "norm": "none", "lr": base["lr"] * 4},
    }


def _bn_speed_analyze(df: pd.DataFrame) -> Verdict:
    e = BN_SPEED
    same = difference(epochs_to_target(df, "no_bn"), epochs_to_target(df, "bn"))
    high = difference(epochs_to_target(df, "no_bn_lr4"), epochs_to_target(df, "bn_lr4"))
    verdict = decide(same, "positive")
    if verdict == "inconclusive" and decide(high, "positive") == "supported":
        verdict = "supported"
    times = {
        a: arm_values(df, a, "time_to_target_s") for a in ("bn", "no_bn", "bn_lr4", "no_bn_lr4")
    }
    wall = ", ".join(
        f"{a} {np.median(v):.2f} s ({len(v)} reached)" for a, v in times.items() if len(v)
    )
    return from_effect(
        e,
        verdict,
        f"epochs saved by BN (no-BN minus BN) to reach {TARGET:.0%} val accuracy",
        same,
        f"At the same learning rate BN saves {fmt_effect(same)} epochs to reach "
        f"{TARGET:.0%} validation accuracy; at 4x the learning rate it saves "
        f"{fmt_effect(high)}. Runs that never reach the target count as epochs + 1. Median "
        f"training time to the target: {wall or 'never reached'}.",
    )


BN_SPEED = Experiment(
    key="bn_speeds_training",
    evidence="epochs_to_target",
    claim="Batch normalization speeds up training.",
    rule="Supported if no-BN minus BN epochs-to-target has a 95% CI above 0 at the same "
    "learning rate (or, failing that, at 4x the learning rate); not supported if the "
    "same-rate CI is below 0.",
    arms=_bn_speed_arms,
    analyze=_bn_speed_analyze,
)


# --- 2. Dropout prevents overfitting -------------------------------------------------------


def _dropout_arms(p: Profile) -> dict:
    base = {**p.base(), "norm": "none", "width": p.width * 2}
    small = max(p.samples // 16, 128)
    return {
        "p0_small": {**base, "dropout_p": 0.0, "train_size": small},
        "p05_small": {**base, "dropout_p": 0.5, "train_size": small},
        "p0_full": {**base, "dropout_p": 0.0},
        "p05_full": {**base, "dropout_p": 0.5},
    }


def _dropout_analyze(df: pd.DataFrame) -> Verdict:
    e = DROPOUT_OVERFIT
    gap = "generalization_gap"
    small = difference(arm_values(df, "p0_small", gap), arm_values(df, "p05_small", gap))
    full = difference(arm_values(df, "p0_full", gap), arm_values(df, "p05_full", gap))
    acc = difference(
        arm_values(df, "p05_small", "final_val_accuracy"),
        arm_values(df, "p0_small", "final_val_accuracy"),
    )
    return from_effect(
        e,
        decide(small, "positive"),
        "generalization gap removed by dropout (p=0 minus p=0.5), small training set",
        small,
        f"On the small training set dropout p=0.5 lowers the train-minus-val "
        f"accuracy gap by {fmt_effect(small)} and changes val accuracy by {fmt_effect(acc)}; "
        f"on the full set it lowers the gap by {fmt_effect(full)}.",
    )


DROPOUT_OVERFIT = Experiment(
    key="dropout_prevents_overfitting",
    evidence="generalization_gap",
    claim="Dropout prevents overfitting.",
    rule="Supported if the generalization gap without dropout minus with p=0.5, on the small "
    "training set, has a 95% CI above 0; not supported if below 0.",
    arms=_dropout_arms,
    analyze=_dropout_analyze,
)


# --- 3. BN before the activation -----------------------------------------------------------


def _bn_position_arms(p: Profile) -> dict:
    base = {**p.base(), "dropout_p": 0.0}
    return {
        "before": {**base, "bn_position": "before_activation"},
        "after": {**base, "bn_position": "after_activation"},
    }


def _bn_position_analyze(df: pd.DataFrame) -> Verdict:
    e = BN_POSITION
    m = "best_val_accuracy"
    d = difference(arm_values(df, "before", m), arm_values(df, "after", m))
    return from_effect(
        e,
        decide(d, "positive"),
        "val accuracy, BN before minus after the activation",
        d,
        f"BN before the activation reaches {fmt_effect(d)} accuracy points more than "
        "after it. A CI that straddles 0 means the placement did not matter here.",
    )


BN_POSITION = Experiment(
    key="bn_before_activation",
    evidence="best_val_accuracy",
    claim="Put BN after the linear or conv layer and before the activation.",
    rule="Supported if best val accuracy with BN before minus after the activation has a "
    "95% CI above 0; not supported if below 0; inconclusive otherwise.",
    arms=_bn_position_arms,
    analyze=_bn_position_analyze,
)


# --- 9. model.eval() handles the difference; the (1 - p) statement ------------------------


def _eval_arms(p: Profile) -> dict:
    return {"bn_dropout": {**p.base(), "norm": "batchnorm", "dropout_p": 0.5}}


def _eval_analyze(df: pd.DataFrame) -> Verdict:
    e = EVAL_MODE
    gaps = arm_values(df, "bn_dropout", "mode_accuracy_gap")
    d = difference(gaps, np.zeros_like(gaps)) if len(gaps) >= 2 else None
    return from_effect(
        e,
        decide(d, "positive"),
        "val accuracy, eval mode minus train mode",
        d,
        f"On the same validation data, eval mode scores {fmt_effect(d)} accuracy points "
        "above train mode (BN on running statistics, dropout off): model.eval() is what "
        "makes inference deterministic, and here better.",
    )


EVAL_MODE = Experiment(
    key="eval_mode_handles_differences",
    evidence="mode_accuracy_gap",
    claim="model.eval() takes care of the train/inference differences.",
    rule="Supported if eval-mode minus train-mode val accuracy has a 95% CI above 0; not "
    "supported if below 0.",
    arms=_eval_arms,
    analyze=_eval_analyze,
)


def inverted_dropout_ratio(p: float, n: int = 1_000_000) -> float:
    """Mean of dropout's train-mode output over the mean of its input (1.0: inverted)."""
    import torch

    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, generator=g) + 0.5
    drop = torch.nn.Dropout(p).train()
    torch.manual_seed(0)
    out = drop(x)
    if not torch.equal(drop.eval()(x), x):
        return math.nan
    return float(out.mean() / x.mean())


def _scaling_analyze(_df: pd.DataFrame, p: float = 0.5) -> Verdict:
    e = TEST_TIME_SCALING
    ratio = inverted_dropout_ratio(p)
    if abs(ratio - 1.0) < 0.01:
        verdict = "corrected"
        why = (
            "PyTorch implements inverted dropout: kept units are scaled by 1/(1 - p) during "
            "training and dropout is the identity in eval, so nothing is scaled at test time. "
            f"Measured: mean(train-mode output) / mean(input) = {ratio:.4f} at p = {p} "
            f"(the article's scheme would need a factor {1 - p:.2f} at test time instead), "
            "and the eval output equals its input exactly."
        )
    elif abs(ratio - (1 - p)) < 0.01:
        verdict, why = "supported", f"Train-mode output keeps {ratio:.4f} of the input mean."
    else:
        verdict, why = "inconclusive", f"Unexpected mean ratio {ratio:.4f}."
    return Verdict(
        experiment=e.key, claim=e.claim, verdict=verdict,
        effect_name="mean(train-mode dropout output) / mean(input)", effect=ratio,
        ci_low=None, ci_high=None, n=1_000_000, explanation=why,
    )  # fmt: skip


TEST_TIME_SCALING = Experiment(
    key="dropout_test_time_scaling",
    claim="At test time the dropout layer's output is scaled by (1 - p).",
    rule="Measured on 10^6 units at p = 0.5: corrected if train-mode dropout keeps the mean "
    "(ratio 1 within 0.01) and eval is the identity; supported if the ratio is 1 - p.",
    arms=lambda p: {},
    analyze=_scaling_analyze,
)


# --- 10. The three example networks run as written ----------------------------------------


def _examples_arms(p: Profile) -> dict:
    common = dict(
        epochs=p.epochs,
        device=p.device,
        batch_size=32,
        warmup_steps=2,
        timed_steps=10,
        repeats=2,
        infer_batch_sizes=[1, 32],
    )
    return {
        "simplenet": {"family": "seednet", "dropout_p": 0.0, **common},
        "dropoutnet": {"family": "seednet", "norm": "none", "dropout_p": 0.5, **common},
        "net": {"family": "seednet", **common},
    }


def _examples_analyze(df: pd.DataFrame) -> Verdict:
    e = EXAMPLES
    ran = sorted(
        a
        for a in ("simplenet", "dropoutnet", "net")
        if len(arm_values(df, a, "final_val_loss")) > 0
    )
    parts = []
    for arm in ran:
        rows = df[df["arm"] == arm]
        parts.append(
            f"{arm}: val loss {rows['final_val_loss'].median():.3f}, "
            f"mode output difference {rows['mode_output_rel_diff'].median():.3f}, "
            f"{rows['train_samples_per_s'].median():,.0f} samples/s"
        )
    verdict = "supported" if len(ran) == 3 else "not supported" if len(df) else "inconclusive"
    return Verdict(
        experiment=e.key,
        claim=e.claim,
        verdict=verdict,
        effect_name="networks that trained and ran inference",
        effect=len(ran),
        ci_low=None,
        ci_high=None,
        n=len(df),
        explanation="; ".join(parts) or "no finished runs",
    )


EXAMPLES = Experiment(
    key="example_networks_run",
    evidence="final_val_loss",
    claim="The article's SimpleNet, DropoutNet and Net run as written.",
    rule="Supported when all three train and benchmark inference with finite losses.",
    arms=_examples_arms,
    analyze=_examples_analyze,
    seeds=lambda p: 1,
)


ARTICLE = Suite(
    name="article",
    description="The seed article's claims about BatchNorm and Dropout, measured.",
    experiments=(
        BN_SPEED, DROPOUT_OVERFIT, BN_POSITION, DROPOUT_POSITION, MOMENTUM, P_BY_SIZE,
        FC_VS_CONV, BN_EVERY_LAYER, EVAL_MODE, TEST_TIME_SCALING, EXAMPLES,
    ),
)  # fmt: skip
