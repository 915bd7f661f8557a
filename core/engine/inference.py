"""Eval-mode inference throughput and latency, unfolded and with BN folded into its predecessor."""

from __future__ import annotations

import contextlib
import functools

import torch
from torch import nn

from core.engine.folding import fold_batchnorm
from core.engine.progress import Reporter
from core.engine.result import FoldCheck, InferencePoint
from core.engine.timing import alternating_per_call, alternating_rounds, summarize
from core.spec.schema import BenchSpec

FOLD_RTOL = 1e-4  # fp32; folding reorders one multiply-add per channel
FOLD_ATOL = 1e-5


def _batch(x_val: torch.Tensor, batch_size: int) -> torch.Tensor:
    reps = -(-batch_size // x_val.shape[0])
    return x_val.repeat(reps, *([1] * (x_val.dim() - 1)))[:batch_size].contiguous()


def check_fold(
    model: nn.Module, folded: nn.Module, x: torch.Tensor, n_folded: int, n_unfoldable: int
) -> FoldCheck:
    """Compare outputs in fp32; tolerance is FOLD_ATOL + FOLD_RTOL * max |output|."""
    with torch.inference_mode():
        a = model.eval()(x).float()
        b = folded(x).float()
    diff = float((a - b).abs().max()) if a.numel() else 0.0
    tol = FOLD_ATOL + FOLD_RTOL * float(a.abs().max())
    return FoldCheck(
        folded_layers=n_folded,
        unfoldable_layers=n_unfoldable,
        max_abs_diff=diff,
        tolerance=tol,
        matches=diff <= tol,
    )


def benchmark_inference(
    model: nn.Module,
    x_val: torch.Tensor,
    spec: BenchSpec,
    device: torch.device,
    autocast: contextlib.AbstractContextManager,
    reporter: Reporter,
    start_fraction: float,
) -> tuple[list[InferencePoint], FoldCheck | None]:
    """Time every batch size in eval mode, unfolded and, when any BN folds, folded. The two
    take turns round by round, so the fold speedup is a ratio measured over one window."""
    model.eval()
    folded, n_folded, n_unfoldable = fold_batchnorm(model)
    fold = check_fold(model, folded, x_val[:256], n_folded, n_unfoldable) if n_folded else None
    variants = [(False, model)] + ([(True, folded)] if n_folded else [])
    if spec.channels_last:
        folded.to(memory_format=torch.channels_last)
    if spec.compile != "none":
        mode = None if spec.compile == "default" else spec.compile
        variants = [(f, torch.compile(net, mode=mode)) for f, net in variants]
    points = []
    total = len(spec.infer_batch_sizes)
    for j, bs in enumerate(spec.infer_batch_sizes):
        x = _batch(x_val, bs)
        if spec.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)

        def call(net, x=x):
            with autocast:
                return net(x)

        calls = [functools.partial(call, net) for _, net in variants]
        with torch.inference_mode():
            rounds = alternating_rounds(
                calls, device, spec.warmup_steps, spec.timed_steps, spec.repeats
            )
            latencies = alternating_per_call(calls, device, 0, spec.timed_steps)
        for (is_folded, _), r_ms, lat_ms in zip(variants, rounds, latencies, strict=True):
            r, lat = summarize(r_ms), summarize(lat_ms)
            points.append(
                InferencePoint(
                    batch_size=bs,
                    folded=is_folded,
                    samples_per_s=bs / (r.median_ms / 1e3),
                    latency_p50_ms=lat.median_ms,
                    latency_p95_ms=lat.p95_ms,
                    rounds=r,
                )
            )
        reporter.tick(0, j + 1, start_fraction + (1 - start_fraction) * (j + 1) / total)
    points.sort(key=lambda p: p.folded)  # unfolded first, as they were always listed
    return points, fold
