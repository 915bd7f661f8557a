"""Evaluation passes and the train/eval gaps: generalization, mode, and BN statistics drift.

Passes that run the model in train mode restore the BN buffers afterwards and fork the RNG,
so measuring never changes the model or the dropout masks that training will draw next.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from core.engine.objective import Objective
from core.engine.result import BNLayerStats, ModeGap

_BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
EVAL_CHUNK = 4096


@dataclass(frozen=True)
class Evaluation:
    loss: float
    accuracy: float | None
    outputs: torch.Tensor
    r2: float | None = None  # regression only

    @property
    def rmse(self) -> float | None:
        """Root mean squared error of a regression: the square root of its MSE loss."""
        return None if self.r2 is None else self.loss**0.5


@contextlib.contextmanager
def preserved_state(model: nn.Module, device: torch.device) -> Iterator[None]:
    """Run a pass without leaving a trace: buffers, train/eval flag and RNG are restored."""
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    was_training = model.training
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        try:
            yield
        finally:
            with torch.no_grad():
                for k, v in model.named_buffers():
                    v.copy_(buffers[k])
            model.train(was_training)


def _chunks(n: int, size: int, min_last: int) -> list[tuple[int, int]]:
    """[start, stop) chunks; a tail smaller than min_last joins the previous chunk."""
    bounds = [(i, min(i + size, n)) for i in range(0, n, size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] < min_last:
        (a, _), (_, d) = bounds[-2], bounds[-1]
        bounds[-2:] = [(a, d)]
    return bounds


@torch.no_grad()
def evaluate(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    objective: Objective,
    train_mode: bool,
    batch_size: int,
    autocast: contextlib.AbstractContextManager | None = None,
) -> Evaluation:
    """Loss, accuracy (or R²) and outputs over (x, y). Train mode batches like training does."""
    device = x.device
    size = batch_size if train_mode else max(batch_size, EVAL_CHUNK)
    outs = []
    with preserved_state(model, device):
        model.train(train_mode)
        for a, b in _chunks(x.shape[0], size, min_last=2):
            with autocast or contextlib.nullcontext():
                outs.append(model(x[a:b]).float())
    out = torch.cat(outs)
    loss = objective.loss(out, y).item()
    acc = objective.correct(out, y).item() / y.shape[0] if objective.has_accuracy else None
    return Evaluation(loss, acc, out, objective.r2(out, y))


def mode_gap(eval_pass: Evaluation, train_pass: Evaluation) -> ModeGap:
    """Same data through eval mode and train mode; output difference is relative to eval."""
    diff = (train_pass.outputs - eval_pass.outputs).abs().mean()
    scale = eval_pass.outputs.abs().mean().clamp_min(1e-12)
    gap = None
    if eval_pass.accuracy is not None and train_pass.accuracy is not None:
        gap = eval_pass.accuracy - train_pass.accuracy
    return ModeGap(
        accuracy_eval=eval_pass.accuracy,
        accuracy_train_mode=train_pass.accuracy,
        accuracy_gap=gap,
        loss_eval=eval_pass.loss,
        loss_train_mode=train_pass.loss,
        output_rel_diff=float(diff / scale),
    )


def _direct_dropout(mods: list[tuple[str, nn.Module]], idx: int) -> float | None:
    """p of an element-wise dropout whose output this BN takes as its input, if any."""
    leaves = [m for _, m in mods[:idx] if not list(m.children())]
    prev = leaves[-1] if leaves else None
    if isinstance(prev, nn.Dropout | nn.Dropout1d | nn.Dropout2d | nn.Dropout3d):
        return float(prev.p)
    return None


def _preceded_by_dropout(mods: list[tuple[str, nn.Module]], idx: int) -> bool:
    for _, m in reversed(mods[:idx]):
        if isinstance(m, _BN_TYPES):
            return False
        if isinstance(m, nn.modules.dropout._DropoutNd):
            return True
    return False


@torch.no_grad()
def bn_statistics_gap(model: nn.Module, x_train: torch.Tensor) -> list[BNLayerStats]:
    """Running stats of each BN layer against the population statistics of its input.

    The population is the whole training set through the model in eval mode (dropout off,
    upstream BN on running stats): what the layer sees at inference (PreciseBN style).
    variance_ratio = population var / running var, per channel. With dropout(p) feeding the
    BN directly, training saw var (sigma^2 + p mu^2) / (1 - p) where inference sees sigma^2
    (mu, sigma^2: the input's population mean and variance), so the ratio is predicted as
    (1 - p) / (1 + p mu^2 / sigma^2): 1 - p only for zero-mean input. This is the variance
    shift of Li et al. 2019; the prediction is reported beside the measurement.
    """
    mods = list(model.named_modules())
    bns = [
        (i, n, m)
        for i, (n, m) in enumerate(mods)
        if isinstance(m, _BN_TYPES) and m.running_var is not None
    ]
    if not bns:
        return []
    sums: dict[str, list[torch.Tensor]] = {}
    counts: dict[str, int] = {}

    def hook(name: str):
        def fn(_m: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
            t = inputs[0].detach().double()
            dims = [0, *range(2, t.dim())]
            s = sums.setdefault(
                name,
                [torch.zeros(t.shape[1], dtype=torch.float64, device=t.device) for _ in range(2)],
            )
            s[0] += t.sum(dims)
            s[1] += (t * t).sum(dims)
            counts[name] = counts.get(name, 0) + t.numel() // t.shape[1]

        return fn

    handles = [m.register_forward_pre_hook(hook(n)) for _, n, m in bns]
    try:
        with preserved_state(model, x_train.device):
            model.eval()
            for a, b in _chunks(x_train.shape[0], EVAL_CHUNK, min_last=1):
                model(x_train[a:b])
    finally:
        for h in handles:
            h.remove()
    out = []
    for k, (idx, name, bn) in enumerate(bns):
        n = counts[name]
        s1, s2 = sums[name]
        mean = s1 / n
        var = (s2 - n * mean * mean) / max(n - 1, 1)
        run_var = bn.running_var.double()
        ratio = var / run_var.clamp_min(1e-12)
        gap = (mean - bn.running_mean.double()).abs() / torch.sqrt(run_var + bn.eps)
        p = _direct_dropout(mods, idx)
        predicted = None
        if p is not None:  # the pooled variance is the same for channel dropout
            predicted = float(((1 - p) / (1 + p * mean * mean / var.clamp_min(1e-12))).mean())
        out.append(
            BNLayerStats(
                index=k,
                name=f"{type(bn).__name__}@{name}",
                num_features=bn.num_features,
                variance_ratio=float(ratio.mean()),
                variance_ratio_min=float(ratio.min()),
                variance_ratio_max=float(ratio.max()),
                mean_gap=float(gap.mean()),
                preceded_by_dropout=_preceded_by_dropout([(nm, m) for nm, m in mods], idx),
                dropout_p=p,
                predicted_variance_ratio=predicted,
            )
        )
    return out


@torch.no_grad()
def recalibrate_bn(model: nn.Module, x_train: torch.Tensor, batch_size: int) -> int:
    """Replace every BN layer's running statistics with their precise values over x_train.

    Batches go through the model in train mode with dropout off, and BN accumulates a
    cumulative average (momentum None): the statistics inference will see, without the EMA's
    lag or dropout's variance shift. The dropout RNG is untouched. Returns the layers updated.
    """
    bns = [m for m in model.modules() if isinstance(m, _BN_TYPES) and m.running_var is not None]
    if not bns:
        return 0
    momenta = [bn.momentum for bn in bns]
    was_training = model.training
    model.train()
    for m in model.modules():
        if isinstance(m, nn.modules.dropout._DropoutNd):
            m.eval()
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
    try:
        for a, b in _chunks(x_train.shape[0], batch_size, min_last=2):
            model(x_train[a:b])
    finally:
        for bn, momentum in zip(bns, momenta, strict=True):
            bn.momentum = momentum
        model.train(was_training)
    return len(bns)
