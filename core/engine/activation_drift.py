"""How the inputs to the last hidden nonlinearity move over training (Ioffe & Szegedy, fig. 1).

The probe is a fixed slice of validation data. It goes through the network as training sees it
(BN normalizes with the batch's statistics) but with dropout off and no buffer updated, so
measuring leaves no trace on the run.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from core.engine.evaluation import preserved_state
from core.engine.networks import ACTIVATIONS

PROBE_SAMPLES = 1024
QUANTILES = (0.15, 0.5, 0.85)

_ACTIVATION_TYPES = tuple(type(make()) for make in ACTIVATIONS.values())


@dataclass(frozen=True)
class InputDistribution:
    """Percentiles of one typical unit (unit 0), and the layer's shift since initialization."""

    p15: float
    p50: float
    p85: float
    shift: float

    def epoch_fields(self) -> dict[str, float]:
        """As EpochMetrics fields."""
        return {"last_hidden_p15": self.p15, "last_hidden_p50": self.p50,
                "last_hidden_p85": self.p85, "last_hidden_shift": self.shift}  # fmt: skip


def last_hidden_activation(model: nn.Module) -> nn.Module | None:
    last = None
    for m in model.modules():
        if isinstance(m, _ACTIVATION_TYPES):
            last = m
    return last


class LastHiddenProbe:
    """Measure with `measure()`; the first call (before training) is the reference."""

    def __init__(self, model: nn.Module, x_val: torch.Tensor, autocast=None):
        self.model, self.x = model, x_val[:PROBE_SAMPLES]
        self.autocast = autocast or contextlib.nullcontext()
        self.act = last_hidden_activation(model)
        self._ref_median: torch.Tensor | None = None

    @torch.no_grad()
    def _unit_inputs(self) -> torch.Tensor | None:
        """(units, samples): each unit's inputs over the probe."""
        if self.act is None or self.x.shape[0] < 2:
            return None
        seen: list[torch.Tensor] = []
        handle = self.act.register_forward_pre_hook(lambda _m, args: seen.append(args[0]))
        try:
            with preserved_state(self.model, self.x.device):
                self.model.eval()
                for m in self.model.modules():
                    if isinstance(m, _BatchNorm):
                        m.train()
                with self.autocast:
                    self.model(self.x)
        finally:
            handle.remove()
        x = seen[-1].float()
        return x.transpose(0, 1).reshape(x.shape[1], -1)  # conv maps: positions are samples

    def measure(self) -> InputDistribution | None:
        units = self._unit_inputs()
        if units is None:
            return None
        # Medians of every unit, percentiles of one: a full sort per unit costs 3x as much.
        # median(dim) has no deterministic CUDA kernel; sorting does.
        if units.is_cuda and torch.are_deterministic_algorithms_enabled():
            median = units.sort(dim=1).values[:, (units.shape[1] - 1) // 2]
            median = torch.where(units.isnan().any(dim=1), torch.nan, median)  # as median() does
        else:
            median = units.median(dim=1).values
        q = torch.tensor(QUANTILES, device=units.device)
        if self._ref_median is None:
            self._ref_median = median
        # In the activation's own input units: one scale for every arm (dividing by each
        # run's initial spread made a BN arm and a plain arm incomparable).
        shift = (median - self._ref_median).abs().mean().item()
        p15, p50, p85 = torch.quantile(units[0], q).tolist()
        return InputDistribution(p15=p15, p50=p50, p85=p85, shift=shift)
