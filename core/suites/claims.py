"""Three kinds of claim, each with its own test, declared per experiment and printed in reports.

- Superiority ("BN speeds up training"): the CI of the difference excludes 0 in the
  claimed direction. Excluding 0 the other way is "not supported". With a margin declared,
  two one-sided tests showing the effect inside it give "equivalent", first: the margin is
  the size below which the arms count as the same, however sure the sign.
- Equivalence ("BN before the last layer is not necessary"): two one-sided tests (TOST)
  against the margin. A CI entirely beyond the margin is "not supported".
- Non-inferiority ("0.1 is a good default"): no alternative beats the default by more than
  the margin, each alternative tested one-sided and the family corrected with Holm. An
  alternative that beats the default by more than the margin, also Holm-corrected, makes it
  "not supported".

Anything else is "inconclusive", with the minimum detectable effect of the design.

Every test runs at a level alpha: 0.05 for a claim judged once, and 0.05 split over the
looks of a sequential run (core.suites.sequential); a CI is then the (1 - alpha) interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from core.suites.stats import ALPHA, POWER, Comparison, fmt, holm, paired, versus, welch

Outcome = tuple[str, Comparison | None, str]  # verdict, the comparison it rests on, why


def by_seed(df: pd.DataFrame, arm: str, metric: str, log: bool = False) -> pd.Series:
    """The arm's finite values of `metric`, indexed by seed. Time to target is a restricted
    mean: a run that never reaches the target counts as one epoch past the horizon (in
    epochs, or in optimizer steps: (epochs + 1) x steps per epoch)."""
    if metric not in df.columns or "arm" not in df.columns:
        return pd.Series(dtype=float)
    rows = df[df["arm"] == arm]
    values = pd.to_numeric(rows[metric], errors="coerce")
    if metric in ("epochs_to_target", "steps_to_target") and "spec.epochs" in rows.columns:
        horizon = rows["spec.epochs"] + 1
        if metric == "steps_to_target":
            if "n_train" not in rows.columns or "spec.batch_size" not in rows.columns:
                return pd.Series(dtype=float)
            horizon = horizon * (rows["n_train"] // rows["spec.batch_size"])
        values = values.fillna(horizon)
    if log:
        values = np.log(values.where(values > 0))
    index = rows["spec.seed"] if "spec.seed" in rows.columns else pd.RangeIndex(len(rows))
    out = pd.Series(values.to_numpy(dtype=float), index=list(index)).dropna()
    return out[~out.index.duplicated()]


def _inconclusive(c: Comparison | None) -> str:
    if c is None:
        return "not enough finished runs to compare"
    if c.mde is None:
        return f"the CI straddles the deciding value ({c.method})"
    return (
        f"the CI straddles the deciding value; with {c.n} seeds this design detects an effect "
        f"of {c.mde:.3g} or more with {POWER:.0%} power at alpha {c.alpha:.3g} ({c.method})"
    )


def _tost(c: Comparison) -> Comparison:
    """c, its method line naming the two one-sided tests that decided it."""
    test = "ttost_paired" if c.paired else "ttost_ind"
    return _deciding(c, f"two one-sided tests (statsmodels.stats.weightstats.{test})")


def _too_wide(c: Comparison, margin: float) -> str:
    """Why an equivalence test did not decide: what the superiority MDE would not say."""
    if math.isnan(c.ci_low):  # identical differences, too few seeds for the sign test
        return f"{c.n} identical differences cannot show equivalence ({c.method})"
    half = (c.ci_high - c.ci_low) / 2
    return (
        f"equivalence needs the CI inside +-{margin:g}; with {c.n} seeds its half-width is "
        f"{half:.3g} ({c.method})"
    )


def _deciding(c: Comparison, test: str) -> Comparison:
    """c, its method line naming the test that decided the verdict as well."""
    return replace(c, method=f"{c.method}; decided by {test}")


def compare(df: pd.DataFrame, a: str, b: str | None, metric: str, reference: float = 0.0,
            is_paired: bool = True, log: bool = False,
            alpha: float = ALPHA) -> Comparison | None:  # fmt: skip
    """a - b (paired by seed, or Welch), or a - reference when b is None."""
    va = by_seed(df, a, metric, log)
    if b is None:
        return versus(va, reference, alpha)
    vb = by_seed(df, b, metric, log)
    return paired(va, vb, alpha) if is_paired else welch(va, vb, alpha)


@dataclass(frozen=True)
class Superiority:
    """a - b (or a - reference) differs from 0 in the claimed direction."""

    a: str
    b: str | None
    metric: str
    direction: Literal["positive", "negative"] = "positive"
    margin: float | None = None  # declared: an effect shown inside +-margin is "equivalent"
    reference: float = 0.0
    paired: bool = True
    log: bool = False
    kind: str = "superiority"

    def what(self) -> str:
        metric = f"log {self.metric}" if self.log else self.metric
        other = self.b if self.b is not None else f"{self.reference:g}"
        return f"{metric}, {self.a} minus {other}"

    def describe(self) -> str:
        side = "above" if self.direction == "positive" else "below"
        if self.b is None:
            pairing = "one-sample over seeds"
        else:
            pairing = "paired by seed" if self.paired else "unpaired (Welch)"
        rule = (
            f"supported if the CI lies {side} 0; not supported if it lies on the other side; "
            "inconclusive otherwise, with the minimum detectable effect."
        )
        if self.margin is not None:
            rule = (
                f"equivalent if two one-sided tests place it within +-{self.margin:g}; else {rule}"
            )
        return f"Superiority, {pairing}: {self.what()}. {rule[0].upper()}{rule[1:]}"

    def judge(self, df: pd.DataFrame, alpha: float = ALPHA) -> Outcome:
        c = compare(df, self.a, self.b, self.metric, self.reference, self.paired, self.log, alpha)
        if c is None:
            return "inconclusive", None, _inconclusive(None)
        if self.margin is not None and (p := c.equivalence_p(self.margin)) < alpha:
            return (
                "equivalent",
                _tost(c),
                (
                    f"{fmt(c)}: within +-{self.margin:g} by two one-sided tests (p = {p:.3g}); "
                    "the difference does not matter at this margin"
                ),
            )
        sign = 1 if self.direction == "positive" else -1
        low, high = sorted((sign * c.ci_low, sign * c.ci_high))
        if low > 0:
            return "supported", c, f"{fmt(c)}: the CI excludes 0 in the claimed direction"
        if high < 0:
            return "not supported", c, f"{fmt(c)}: the CI excludes 0 against the claim"
        return "inconclusive", c, f"{fmt(c)}: {_inconclusive(c)}"

    def against_p(self, c: Comparison | None) -> float | None:
        """One-sided p of the effect lying against the claim, from the comparison judge()
        rests on (None without one): the test behind "not supported", which the CI decides at
        alpha / 2."""
        if c is None:
            return None
        return c.one_sided_p(0.0, "less" if self.direction == "positive" else "greater")


@dataclass(frozen=True)
class Equivalence:
    """|a - b| < margin: the choice does not matter."""

    a: str
    b: str
    metric: str
    margin: float
    paired: bool = True
    kind: str = "equivalence"

    def what(self) -> str:
        return f"{self.metric}, {self.a} minus {self.b}"

    def describe(self) -> str:
        return (
            f"Equivalence, paired by seed: {self.what()}. Supported if two one-sided tests "
            f"(statsmodels.stats.weightstats.ttost_paired) place it within +-{self.margin:g}; "
            "not supported if the CI lies entirely beyond the margin; inconclusive otherwise."
        )

    def judge(self, df: pd.DataFrame, alpha: float = ALPHA) -> Outcome:
        c = compare(df, self.a, self.b, self.metric, 0.0, self.paired, alpha=alpha)
        if c is None:
            return "inconclusive", None, _inconclusive(None)
        p = c.equivalence_p(self.margin)
        if p < alpha:
            c = _tost(c)
            return "supported", c, f"{fmt(c)}: within +-{self.margin:g} by TOST (p = {p:.3g})"
        if c.ci_low > self.margin or c.ci_high < -self.margin:
            return "not supported", c, f"{fmt(c)}: the CI lies beyond +-{self.margin:g}"
        return "inconclusive", c, f"{fmt(c)}: TOST p = {p:.3g}; {_too_wide(c, self.margin)}"


@dataclass(frozen=True)
class NonInferiority:
    """No alternative beats the default by more than the margin (higher is better)."""

    default: str
    alternatives: tuple[str, ...]
    metric: str
    margin: float
    kind: str = "non-inferiority"

    def what(self) -> str:
        return f"{self.metric}, best alternative minus {self.default}"

    def describe(self) -> str:
        return (
            f"Non-inferiority, paired by seed: each of {', '.join(self.alternatives)} minus "
            f"{self.default} in {self.metric}. Supported if every alternative is shown to gain "
            f"less than {self.margin:g} (one-sided paired t tests, Holm-corrected with "
            "statsmodels' multipletests); not supported if any is shown to gain more than "
            f"{self.margin:g} (Holm-corrected likewise); inconclusive otherwise."
        )

    def judge(self, df: pd.DataFrame, alpha: float = ALPHA) -> Outcome:
        base = by_seed(df, self.default, self.metric)
        comps = {a: paired(by_seed(df, a, self.metric), base, alpha) for a in self.alternatives}
        if any(c is None for c in comps.values()):
            return "inconclusive", None, _inconclusive(None)
        names = list(comps)
        below = holm([comps[a].one_sided_p(self.margin, "less") for a in names], alpha)
        above = holm([comps[a].one_sided_p(self.margin, "greater") for a in names], alpha)
        holm_line = (
            "one-sided paired t per alternative (scipy.stats.ttest_1samp), Holm-corrected "
            "(statsmodels.stats.multitest.multipletests)"
        )
        comps = {a: _deciding(c, holm_line) for a, c in comps.items()}
        best = max(names, key=lambda a: comps[a].value)
        gains = "; ".join(f"{a} {fmt(comps[a])}" for a in names)
        if any(above):
            winner = names[above.index(True)]
            return (
                "not supported",
                comps[winner],
                (
                    f"{winner} beats {self.default} by more than {self.margin:g} "
                    f"(Holm-corrected): {gains}"
                ),
            )
        if all(below):
            return (
                "supported",
                comps[best],
                (
                    f"no alternative gains {self.margin:g} or more over {self.default} "
                    f"(Holm-corrected): {gains}"
                ),
            )
        return "inconclusive", comps[best], f"{gains}; {_inconclusive(comps[best])}"


@dataclass(frozen=True)
class AllOf:
    """A claim that needs every one of its parts ("better test accuracy and lower test
    loss"). Supported only if every part is, equivalent only if every part is: an
    intersection-union test, each part at the full level. Not supported if any part is shown
    against the claim after Holm's correction over the parts, so that k parts do not give k
    chances of a false "not supported"."""

    parts: tuple[Superiority, ...]
    kind: str = "superiority"

    @property
    def margin(self) -> float | None:
        return self.parts[0].margin

    @property
    def metric(self) -> str:  # the first part's, for the per-seed chart
        return self.parts[0].metric

    def what(self) -> str:
        parts = "; ".join(p.what() for p in self.parts)
        return f"{parts} (the effect shown is the deciding part's)"

    def describe(self) -> str:
        each = " AND ".join(f"({p.describe().rstrip('.')})" for p in self.parts)
        return (
            f"All of: {each}. Supported only if every part is supported, equivalent only if "
            "every part is (an intersection-union test: each part at the full level); not "
            "supported if any part lies against the claim by one-sided tests Holm-corrected "
            "over the parts (statsmodels.stats.multitest.multipletests, at alpha / 2, the "
            "level of one CI's side); inconclusive otherwise."
        )

    def judge(self, df: pd.DataFrame, alpha: float = ALPHA) -> Outcome:
        outcomes = [p.judge(df, alpha) for p in self.parts]
        said = "; ".join(f"{p.what()}: {why}" for p, (_, _, why) in zip(self.parts, outcomes,
                                                                       strict=True))  # fmt: skip
        verdicts = [v for v, _, _ in outcomes]
        against = [p.against_p(c) for p, (_, c, _) in zip(self.parts, outcomes, strict=True)]
        shown = holm([1.0 if p is None else p for p in against], alpha / 2)
        if any(shown):
            deciding, verdict = shown.index(True), "not supported"
            said += (
                f". Against the claim after Holm's correction over {len(self.parts)} parts: "
                + ", ".join(
                    f"{p.what()} (one-sided p = {q:.3g})"
                    for p, q, hit in zip(self.parts, against, shown, strict=True)
                    if hit
                )
            )
        elif all(v == "supported" for v in verdicts) or all(v == "equivalent" for v in verdicts):
            deciding, verdict = 0, verdicts[0]
        else:
            # an undecided part, else the first part that disagrees with the others
            undecided = [i for i, v in enumerate(verdicts) if v not in ("supported", "equivalent")]
            rarer = min(set(verdicts), key=verdicts.count)
            deciding = undecided[0] if undecided else verdicts.index(rarer)
            verdict = "inconclusive"
        c = outcomes[deciding][1]
        if c is not None:
            method = f"{c.method}; deciding part: {self.parts[deciding].what()}"
            if verdict == "not supported":
                method += (
                    f"; Holm over {len(self.parts)} parts at alpha {alpha / 2:.3g}"
                    " (statsmodels.stats.multitest.multipletests)"
                )
            c = replace(c, method=method)
        return verdict, c, said


ClaimTest = Superiority | Equivalence | NonInferiority | AllOf


def tested_arms(test: ClaimTest) -> tuple[str, ...]:
    """The arms a claim's test compares (the ones its verdict rests on)."""
    if isinstance(test, NonInferiority):
        return (test.default, *test.alternatives)
    if isinstance(test, AllOf):
        return tuple(dict.fromkeys(a for p in test.parts for a in tested_arms(p)))
    return tuple(a for a in (test.a, test.b) if a is not None)
