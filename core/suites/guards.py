"""What must hold on the runs before a test about them means anything.

A guard that fails turns the verdict into "invalid design", naming the check and its
numbers: a comparison of two networks at chance accuracy, or of an "overfitting" baseline
that never fit its training set, says nothing about the claim.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.spec.memory import DATASET_SHAPES


def arms_of(df: pd.DataFrame) -> list[str]:
    return sorted(df["arm"].dropna().unique()) if "arm" in df.columns else []


def chance_accuracy(df: pd.DataFrame) -> float | None:
    """1 / classes of the runs' dataset; None for regression or an unknown dataset."""
    if "spec.dataset" not in df.columns or df.empty:
        return None
    dataset = df["spec.dataset"].iloc[0]
    if dataset == "synthetic" and "spec.synthetic_classes" in df.columns:
        return 1.0 / float(df["spec.synthetic_classes"].iloc[0])
    if dataset in DATASET_SHAPES and dataset != "npz":
        return 1.0 / DATASET_SHAPES[dataset][1]
    return None


def _median(df: pd.DataFrame, arm: str, column: str) -> float:
    if column not in df.columns:
        return float("nan")
    values = pd.to_numeric(df.loc[df["arm"] == arm, column], errors="coerce").dropna()
    return float(values.median()) if len(values) else float("nan")


@dataclass(frozen=True)
class Learned:
    """The tested arms (or the ones named) score clearly above chance on validation data."""

    arms: tuple[str, ...] = ()
    above_chance: float = 0.1
    metric: str = "final_val_accuracy"

    def describe(self) -> str:
        which = ", ".join(self.arms) if self.arms else "every tested arm"
        return f"{which} learned: median {self.metric} at least chance + {self.above_chance:g}"

    def check(self, df: pd.DataFrame, tested: tuple[str, ...] = ()) -> str | None:
        chance = chance_accuracy(df)
        if chance is None:
            return None
        for arm in self.arms or tested or arms_of(df):
            m = _median(df, arm, self.metric)
            if not m >= chance + self.above_chance:
                return (
                    f"arm {arm} did not learn: median {self.metric} {m:.3f} against chance "
                    f"{chance:.3f} (needs {chance + self.above_chance:.3f})"
                )
        return None

    def caveat(self, df: pd.DataFrame, tested: tuple[str, ...] = ()) -> str | None:
        """The seeds below the bar in arms whose median passed it: they stay in the
        comparison (failing to learn can be the effect itself), and the report names them."""
        chance = chance_accuracy(df)
        if chance is None or self.metric not in df.columns:
            return None
        bar, out = chance + self.above_chance, []
        for arm in self.arms or tested or arms_of(df):
            values = pd.to_numeric(df.loc[df["arm"] == arm, self.metric], errors="coerce")
            if (low := int((values < bar).sum())) > 0:
                out.append(f"{arm} {low} of {len(values)}")
        if not out:
            return None
        return (
            f"Seeds whose {self.metric} stayed below chance + {self.above_chance:g} "
            f"({bar:.3f}), kept in the comparison: {', '.join(out)}."
        )


@dataclass(frozen=True)
class OutputsMatch:
    """Every run's optimized model gave the reference model's outputs (a boolean column):
    timing a model that computes something else says nothing about the claim."""

    column: str = "fold_matches"

    def describe(self) -> str:
        return f"every run's {self.column} is true (the outputs were checked equal)"

    def check(self, df: pd.DataFrame, tested: tuple[str, ...] = ()) -> str | None:
        if self.column not in df.columns:
            return f"no {self.column} in these results: the outputs were not checked"
        values = df[self.column]
        bad = int((values != True).sum())  # noqa: E712 -- None (not checked) fails too
        if bad:
            return f"{bad} of {len(values)} runs' {self.column} is not true: outputs differed"
        return None


@dataclass(frozen=True)
class Overfits:
    """The baseline meant to overfit did: it fits its training set and generalizes worse."""

    arm: str
    min_train_accuracy: float = 0.99
    min_gap: float = 0.05

    def describe(self) -> str:
        return (
            f"{self.arm} overfit: median final_train_accuracy at least "
            f"{self.min_train_accuracy:g} and generalization_gap at least {self.min_gap:g}"
        )

    def check(self, df: pd.DataFrame, tested: tuple[str, ...] = ()) -> str | None:
        train = _median(df, self.arm, "final_train_accuracy")
        gap = _median(df, self.arm, "generalization_gap")
        if not (train >= self.min_train_accuracy and gap >= self.min_gap):
            return (
                f"{self.arm} did not overfit: median train accuracy {train:.3f} (needs "
                f"{self.min_train_accuracy:g}), gap {gap:.3f} (needs {self.min_gap:g})"
            )
        return None


@dataclass(frozen=True)
class Reaches:
    """Enough runs of each arm reach the target, so time-to-target is mostly observed."""

    arms: tuple[str, ...] = ()
    min_fraction: float = 0.5
    column: str = "steps_to_target"

    def describe(self) -> str:
        which = ", ".join(self.arms) if self.arms else "every tested arm"
        return f"{which}: at least {self.min_fraction:.0%} of runs reach the target"

    def check(self, df: pd.DataFrame, tested: tuple[str, ...] = ()) -> str | None:
        older = self.column in df.columns and not df[self.column].notna().any()
        older = older and df.get("epochs_to_target", pd.Series(dtype=float)).notna().any()
        if self.column not in df.columns or older:
            return (
                f"no {self.column} in these results (recorded since migration 0009); run the "
                "suite again"
            )
        for arm in self.arms or tested or arms_of(df):
            values = df.loc[df["arm"] == arm, self.column]
            if len(values) == 0:
                continue
            reached = float(np.mean(values.notna()))
            if reached < self.min_fraction:
                return (
                    f"only {reached:.0%} of {arm}'s runs reached the target (needs "
                    f"{self.min_fraction:.0%}); lengthen the horizon or lower the target"
                )
        return None


Guard = Learned | Overfits | Reaches | OutputsMatch
