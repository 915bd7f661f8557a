"""Verdicts: an effect size with a 95% CI over seeds, and the rule that reads it."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from core.repeat_stats import t_quantile_975

VerdictName = Literal["supported", "not supported", "inconclusive", "corrected"]


class Verdict(BaseModel):
    """What the evidence says about one claim."""

    model_config = ConfigDict(frozen=True)

    experiment: str
    claim: str
    verdict: VerdictName
    effect_name: str
    effect: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    explanation: str


class Effect(BaseModel):
    """Difference of means a - b with Welch's 95% CI; n is the smaller arm's count."""

    model_config = ConfigDict(frozen=True)

    value: float
    ci_low: float
    ci_high: float
    n: int


def arm_values(df: pd.DataFrame, arm: str, metric: str) -> np.ndarray:
    """The finite values of `metric` in one arm (empty when the arm or metric is absent)."""
    if metric not in df.columns:
        return np.array([], dtype=float)
    rows = df[df["arm"] == arm]
    return pd.to_numeric(rows[metric], errors="coerce").dropna().to_numpy(dtype=float)


def epochs_to_target(df: pd.DataFrame, arm: str) -> np.ndarray:
    """Epochs to the target per run of `arm`, censored at epochs + 1 when it was never reached
    (or the run diverged); empty without the column."""
    if "epochs_to_target" not in df.columns:
        return np.array([], dtype=float)
    rows = df[df["arm"] == arm]
    return rows["epochs_to_target"].fillna(rows["spec.epochs"] + 1).to_numpy(dtype=float)


def difference(a: np.ndarray, b: np.ndarray) -> Effect | None:
    """a - b with a Welch t interval; None with fewer than two values in an arm."""
    if len(a) < 2 or len(b) < 2:
        return None
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        d = float(a.mean() - b.mean())
        return Effect(value=d, ci_low=d, ci_high=d, n=min(len(a), len(b)))
    dof = (va + vb) ** 2 / ((va**2) / (len(a) - 1) + (vb**2) / (len(b) - 1))
    half = t_quantile_975(max(int(dof), 1)) * se
    d = float(a.mean() - b.mean())
    return Effect(value=d, ci_low=d - half, ci_high=d + half, n=min(len(a), len(b)))


def decide(
    effect: Effect | None, expect: Literal["positive", "negative"], margin: float = 0.0
) -> VerdictName:
    """Supported when the CI lies beyond `margin` in the claimed direction, not supported when
    it lies beyond it the other way, inconclusive otherwise (or without data)."""
    if effect is None:
        return "inconclusive"
    sign = 1 if expect == "positive" else -1
    low, high = sorted((sign * effect.ci_low, sign * effect.ci_high))
    if low > margin:
        return "supported"
    if high < -margin:
        return "not supported"
    return "inconclusive"


def fmt_effect(effect: Effect | None) -> str:
    if effect is None:
        return "not enough finished runs"
    return f"{effect.value:+.3f} [95% CI {effect.ci_low:+.3f}, {effect.ci_high:+.3f}]"


def from_effect(
    experiment, verdict: VerdictName, effect_name: str, effect: Effect | None, explanation: str
) -> Verdict:
    """A Verdict for `experiment` (anything with .key and .claim) from an Effect."""
    return Verdict(
        experiment=experiment.key, claim=experiment.claim, verdict=verdict,
        effect_name=effect_name, effect=None if effect is None else effect.value,
        ci_low=None if effect is None else effect.ci_low,
        ci_high=None if effect is None else effect.ci_high,
        n=0 if effect is None else effect.n, explanation=explanation,
    )  # fmt: skip


def equivalent(effect: Effect | None, margin: float) -> VerdictName:
    """Supported when the whole CI lies within +-margin (no difference that matters), not
    supported when it lies beyond +margin, inconclusive otherwise."""
    if effect is None:
        return "inconclusive"
    if -margin <= effect.ci_low and effect.ci_high <= margin:
        return "supported"
    if effect.ci_low > margin:
        return "not supported"
    return "inconclusive"
