"""Suite `article`: the claims of the seed article, each measured and judged.

Each experiment declares its claim type, metric, margin and guards (core.suites.claims,
core.suites.guards); the rule printed in reports is generated from that declaration, and
docs/suites.md explains them. Arms are compared seed by seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.suites.article_design import (
    BN_EVERY_LAYER,
    DROPOUT_POSITION,
    FC_VS_CONV,
    MOMENTUM,
    P_BY_SIZE,
    sized,
    small_train_size,
)
from core.suites.claims import AllOf, Equivalence, Superiority, by_seed, compare
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
    small = small_train_size(p)
    return {
        "p0_small": sized(p, {**base, "dropout_p": 0.0}, small),
        "p05_small": sized(p, {**base, "dropout_p": 0.5}, small),
        "p0_full": sized(p, {**base, "dropout_p": 0.0}, None),
        "p05_full": sized(p, {**base, "dropout_p": 0.5}, None),
    }


def _dropout_explain(df: pd.DataFrame) -> str:
    full = compare(df, "p05_full", "p0_full", ACC)
    gap = compare(df, "p0_small", "p05_small", "generalization_gap")
    return (
        f"On the full training set (the same number of steps) dropout changes test accuracy "
        f"by {fmt(full)}. On the small set it lowers the train - val accuracy gap by "
        f"{fmt(gap)} (reported, not judged: a smaller gap also rewards underfitting)."
    )


DROPOUT_OVERFIT = Experiment(
    key="dropout_prevents_overfitting",
    evidence=ACC,
    claim="Dropout prevents overfitting.",
    test=AllOf((Superiority("p05_small", "p0_small", ACC),
                Superiority("p05_small", "p0_small", "final_test_loss", direction="negative"))),
    guards=(Learned(), Overfits("p0_small")),
    note="Judged on the small training set, where a network without dropout overfits: every "
    "arm, small or full, trains for the same number of optimizer steps, enough for p0_small to "
    "fit its training set (the check above).",
    arms=_dropout_arms,
    explain=_dropout_explain,
)  # fmt: skip


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
    base = {**p.base(), "norm": "batchnorm", "dropout_p": 0.5}
    return {"eval": base, "recalibrated": {**base, "bn_recalibrate": True}}


def batch_dependence(seed: int = 0) -> tuple[float, float]:
    """One sample's BN output in two different batches, in eval and in train mode: the
    largest |difference| of each. eval() makes a sample's output independent of its batch."""
    import torch

    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        bn = torch.nn.BatchNorm1d(8)
        for _ in range(20):
            bn(torch.randn(32, 8) * 2 + 1)
        sample, a, b = torch.randn(1, 8), torch.randn(15, 8), torch.randn(15, 8) * 3
        diffs = []
        for train in (False, True):
            bn.train(train)
            one, two = bn(torch.cat([sample, a]))[0], bn(torch.cat([sample, b]))[0]
            diffs.append(float((one - two).abs().max()))
    return diffs[0], diffs[1]


def _eval_explain(df: pd.DataFrame) -> str:
    gap = compare(df, "eval", None, "mode_accuracy_gap")
    fed = by_seed(df, "eval", "bn_variance_ratio_dropout_fed")
    in_eval, in_train = batch_dependence()
    shift = f"{fed.mean():.3f}" if len(fed) else "n/a"
    return (
        f"What eval() does fix: a sample's output no longer depends on its batch (largest "
        f"difference across two batch compositions {in_eval:g} in eval mode, {in_train:.3f} in "
        f"train mode), and dropout is off (eval minus train-mode accuracy {fmt(gap)}). What "
        f"it does not: the running statistics dropout shifted (population / running variance "
        f"over the dropout-fed BN layers {shift}), which only re-estimating them removes."
    )


EVAL_MODE = Experiment(
    key="eval_mode_handles_differences",
    evidence=ACC,
    claim="model.eval() takes care of the train/inference differences.",
    test=Equivalence("recalibrated", "eval", ACC, MARGIN),
    guards=(Learned(),),
    note="What is left after eval(): the same network with its BN statistics re-estimated "
    "on the training set with dropout off (precise BN) against plain eval(). Supported if "
    "re-estimating changes test accuracy by less than the margin (eval() left nothing that "
    "matters); not supported if it changes it by more.",
    arms=_eval_arms,
    explain=_eval_explain,
)


SCALING_P = 0.3  # where p and 1 - p differ, so the two schemes cannot be confused


def classic_dropout(p: float, seed: int = 0):
    """The original formulation (Srivastava et al. 2014), emulated: units are dropped without
    rescaling in training, and the output is scaled by (1 - p) at test time."""
    import torch

    class ClassicDropout(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.generator = torch.Generator().manual_seed(seed)

        def forward(self, x):
            if self.training:
                return x * (torch.rand(x.shape, generator=self.generator) >= p)
            return x * (1 - p)

    return ClassicDropout()


def scaling_ratios(layer, n: int = 1_000_000) -> tuple[float, float]:
    """mean(output) / mean(input) of `layer` in train mode and in eval mode. The global RNG
    is forked, never reseeded: the analysis leaves no trace on other code's randomness."""
    import torch

    x = torch.rand(n, generator=torch.Generator().manual_seed(2**31 - 1)) + 0.5  # not a mask seed
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        train = layer.train()(x)
        evaluated = layer.eval()(x)
    return float(train.mean() / x.mean()), float(evaluated.mean() / x.mean())


def scaling_verdict(train: float, evaluated: float, p: float) -> tuple[str, str]:
    """Supported if the layer scales by 1 - p at test time (and so keeps 1 - p of the mean in
    training); corrected if test time leaves the output alone and training rescales by
    1 / (1 - p) instead (inverted dropout)."""
    where = (f"mean(output) / mean(input) = {train:.4f} in train mode and {evaluated:.4f} in "
             f"eval mode at p = {p}")  # fmt: skip
    if abs(evaluated - 1) < 1e-6 and abs(train - 1) < 0.01:
        return "corrected", (
            f"Inverted dropout: {where}. Nothing is scaled at test time; kept units are scaled "
            f"by 1/(1 - p) = {1 / (1 - p):.3f} during training instead"
        )
    if abs(evaluated - (1 - p)) < 1e-6 and abs(train - (1 - p)) < 0.01:
        return "supported", f"Classic dropout: {where}; test time scales by 1 - p = {1 - p:g}"
    return "inconclusive", f"Neither scheme: {where}"


def _scaling_analyze(_df: pd.DataFrame) -> Verdict:
    import torch

    e, p = TEST_TIME_SCALING, SCALING_P
    train, evaluated = scaling_ratios(torch.nn.Dropout(p))
    verdict, why = scaling_verdict(train, evaluated, p)
    _, classic = scaling_verdict(*scaling_ratios(classic_dropout(p)), p)
    return Verdict(
        experiment=e.key, claim=e.claim, verdict=verdict,
        effect_name="mean(eval-mode output) / mean(input) of torch.nn.Dropout", effect=evaluated,
        ci_low=None, ci_high=None, n=1_000_000,
        explanation=f"torch.nn.Dropout: {why}. For comparison, the emulated original "
        f"formulation: {classic}.",
    )  # fmt: skip


TEST_TIME_SCALING = Experiment(
    key="dropout_test_time_scaling",
    claim="At test time the dropout layer's output is scaled by (1 - p).",
    note=f"Both schemes measured on 10^6 units at p = {SCALING_P} (where p and 1 - p differ): "
    "supported if the layer scales by 1 - p in eval (and keeps 1 - p of the mean in training, "
    "the classic scheme); corrected if eval is the identity and training rescales by "
    "1 / (1 - p) (inverted dropout). torch.nn.Dropout is judged; an emulation of the classic "
    "scheme is measured beside it.",
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
        r2 = rows["final_val_r2"].median() if "final_val_r2" in rows else float("nan")
        parts.append(
            f"{arm}: val loss {rows['final_val_loss'].median():.3f} (R² {r2:.2f}), "
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
