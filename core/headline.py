"""The few figures that sum up a model result, by its task: accuracy for a classification,
R² and RMSE for a regression, then the loss and the throughput."""

from __future__ import annotations

import math

from core.engine.result import ModelResult


def pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


def num(v: float | None, fmt: str = ".4g") -> str:
    return "-" if v is None else format(v, fmt)


def headline(m: ModelResult) -> list[tuple[str, str]]:
    """(label, formatted value) pairs, only those this task has."""
    if m.task == "regression":
        rmse = m.final_val_rmse
        if rmse is None and m.final_val_loss >= 0:  # written before R² and RMSE were
            rmse = math.sqrt(m.final_val_loss)
        rows = [
            ("val R² (eval mode)", num(m.final_val_r2, ".3f")),
            ("val RMSE", num(rmse)),
            ("train R²", num(m.final_train_r2, ".3f")),
        ]
        if m.final_test_r2 is not None:
            rows.append(("test R²", num(m.final_test_r2, ".3f")))
    else:
        rows = [
            ("val accuracy (final / best)",
             f"{pct(m.final_val_accuracy)} / {pct(m.best_val_accuracy)}"),
            ("generalization gap (acc)", pct(m.generalization_gap)),
        ]  # fmt: skip
        if m.final_test_accuracy is not None:
            rows.append(("test accuracy", pct(m.final_test_accuracy)))
    rows.append(("val loss", num(m.final_val_loss)))
    tp = m.throughput
    if tp is not None:
        rows.append(("train samples/s", f"{tp.samples_per_s:,.0f}"))
    return rows
