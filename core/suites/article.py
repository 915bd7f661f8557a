"""Suite `article`: the claims of the seed article, each measured and judged.

Each experiment declares its claim type, metric, margin and guards (core.suites.claims,
core.suites.guards); the rule printed in reports is generated from that declaration, and
docs/suites.md explains them. Arms are compared seed by seed.
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
from core.suites.claims import Superiority, by_seed, compare
from core.suites.guards import Learned, Overfits, Reaches
from core.suites.model import Experiment, Profile, Suite
from core.suites.stats import fmt
from core.suites.verdicts import Verdict

TARGET = 0.6  # validation accuracy that "trained" means in the time-to-accuracy claim
ACC = "final_test_accuracy"  # the final model on the held-out test split, measured once
MARGIN = 0.02  # accuracy points below which two arms count as the same


# --- 1. BN speeds up training ------------------------------------------------------------


def _bn_speed_arms(p: Profile) -> dict:
    base = {**p.base(), "dropout_p": 0.0, "target_val_accuracy": TARGET}
    return {
        "bn": {**base, "norm": "batchnorm"},
        "no_bn": {**base, "norm": "none"},
        "bn_lr4": {**base, "norm": "batchnorm", "lr": base["lr"] * 4},
        "no_bn_lr4": {**base, "norm": "none", "lr": base["lr"] * 4},
    }


def _bn_speed_explain(df: pd.DataFrame) -> str:
    high = compare(df, "no_bn_lr4", "bn_lr4", "steps_to_target")
    times = {a: by_seed(df, a, "time_to_target_s") for a in ("bn", "no_bn", "bn_lr4", "no_bn_lr4")}
    wall = ", ".join(
        f"{a} {np.median(v):.2f} s ({len(v)} reached)" for a, v in times.items() if len(v)
    )
    return (
        f"At 4x the learning rate BN saves {fmt(high)} optimizer steps (reported, not judged). "
        "Median "
        f"training time to the target: {wall or 'never reached'}."
    )


BN_SPEED = Experiment(
    key="bn_speeds_training",
    evidence="steps_to_target",
    claim="Batch normalization speeds up training.",
    test=Superiority("no_bn", "bn", "steps_to_target"),
    guards=(Learned(), Reaches(("bn", "no_bn"))),
    note=f"The target is {TARGET:.0%} validation accuracy; optimizer steps to it (counted at "
    "the end of the epoch that reaches it) are a restricted mean: a run that never reaches it "
    "counts as one epoch past the horizon.",
    arms=_bn_speed_arms,
    explain=_bn_speed_explain,
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


def _dropout_explain(df: pd.DataFrame) -> str:
    full = compare(df, "p0_full", "p05_full", "generalization_gap")
    acc = compare(df, "p05_small", "p0_small", ACC)
    return (
        f"Dropout p=0.5 changes val accuracy on the small set by {fmt(acc)}; on the full set "
        f"it lowers the gap by {fmt(full)}."
    )


DROPOUT_OVERFIT = Experiment(
    key="dropout_prevents_overfitting",
    evidence="generalization_gap",
    claim="Dropout prevents overfitting.",
    test=Superiority("p0_small", "p05_small", "generalization_gap"),
    guards=(Learned(), Overfits("p0_small")),
    note="The gap is train minus val accuracy, both in eval mode, on the small training set.",
    arms=_dropout_arms,
    explain=_dropout_explain,
)


# --- 3. BN before the activation -----------------------------------------------------------


def _bn_position_arms(p: Profile) -> dict:
    base = {**p.base(), "dropout_p": 0.0}
    return {
        "before": {**base, "bn_position": "before_activation"},
        "after": {**base, "bn_position": "after_activation"},
    }


BN_POSITION = Experiment(
    key="bn_before_activation",
    evidence=ACC,
    claim="Put BN after the linear or conv layer and before the activation.",
    test=Superiority("before", "after", ACC, margin=MARGIN),
    guards=(Learned(),),
    arms=_bn_position_arms,
)


# --- 9. model.eval() handles the difference; the (1 - p) statement ------------------------


def _eval_arms(p: Profile) -> dict:
    return {"bn_dropout": {**p.base(), "norm": "batchnorm", "dropout_p": 0.5}}


EVAL_MODE = Experiment(
    key="eval_mode_handles_differences",
    evidence="mode_accuracy_gap",
    claim="model.eval() takes care of the train/inference differences.",
    test=Superiority("bn_dropout", None, "mode_accuracy_gap"),
    guards=(Learned(),),
    note="The gap is eval-mode minus train-mode accuracy on the same validation data (BN on "
    "running statistics and dropout off, against batch statistics and dropout on).",
    arms=_eval_arms,
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
    note="Measured on 10^6 units at p = 0.5: corrected if train-mode dropout keeps the mean "
    "(ratio 1 within 0.01) and eval is the identity; supported if the ratio is 1 - p.",
    arms=lambda p: {},
    custom=_scaling_analyze,
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
        a for a in ("simplenet", "dropoutnet", "net") if len(by_seed(df, a, "final_val_loss")) > 0
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
    note="Supported when all three train and benchmark inference with finite losses.",
    arms=_examples_arms,
    custom=_examples_analyze,
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
