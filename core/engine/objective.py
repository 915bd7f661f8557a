"""Loss and accuracy for a task: softmax classification, one-logit binary, or regression."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F


@dataclass(frozen=True)
class Objective:
    task: str
    n_outputs: int

    @property
    def has_accuracy(self) -> bool:
        return self.task == "classification"

    def loss(self, out: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        out = out.float()
        if self.task == "regression":
            return F.mse_loss(out, y, reduction=reduction)
        if self.n_outputs == 1:
            return F.binary_cross_entropy_with_logits(
                out.squeeze(1), y.float(), reduction=reduction
            )
        return F.cross_entropy(out, y, reduction=reduction)

    def r2(self, out: torch.Tensor, y: torch.Tensor) -> float | None:
        """Coefficient of determination of a regression, 1 - SSE/SST per output, averaged
        over outputs as sklearn.metrics.r2_score does; None for a classification."""
        if self.task != "regression":
            return None
        out, y = out.float().reshape(y.shape[0], -1), y.float().reshape(y.shape[0], -1)
        sse = ((y - out) ** 2).sum(0)
        sst = ((y - y.mean(0)) ** 2).sum(0)
        # sklearn's force_finite: a constant target scores 1 when predicted exactly, else 0
        r2 = torch.where(sst > 0, 1 - sse / sst.clamp_min(1e-30), (sse == 0).float())
        return float(r2.mean())

    def correct(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Number of correct predictions, as a device tensor (no host sync)."""
        if self.n_outputs == 1:
            return ((out.squeeze(1) > 0).long() == y).sum()
        return (out.argmax(1) == y).sum()


def objective_for(task: str, n_classes: int, family: str) -> Objective:
    if task == "regression":
        return Objective("regression", 1)
    if family == "seednet":  # the article's Net has one output: a binary logit
        return Objective("classification", 1)
    return Objective("classification", n_classes)
