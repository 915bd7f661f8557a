"""The layer microbenchmark on CPU with tiny shapes: what it builds, times and reports."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from core.engine.errors import Cancelled
from core.engine.layerbench import (
    build_layer,
    copy_bandwidth_gbps,
    make_input,
    min_bytes,
    run_layer_bench,
)
from core.engine.result import LayerResult
from core.spec.schema import BenchSpec

CPU = torch.device("cpu")
MiB = 2**20
SHAPES = {
    "batchnorm1d": (8, 4, 6),
    "batchnorm2d": (8, 4, 6, 6),
    "batchnorm3d": (8, 4, 3, 6, 6),
    "dropout": (8, 4, 6, 6),
    "dropout2d": (8, 4, 6, 6),
    "bn_relu_dropout": (8, 4, 6, 6),
}
MODES = ("eval_fwd", "train_fwd", "train_fwdbwd")


def layer_spec(layer: str = "batchnorm2d", mode: str = "train_fwd", **kw) -> BenchSpec:
    kw.setdefault("shape", SHAPES[layer])
    return BenchSpec(
        kind="layer",
        layer=layer,
        mode=mode,
        device="cpu",
        warmup_steps=1,
        timed_steps=3,
        repeats=2,
        **kw,
    )


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("layer", list(SHAPES))
def test_every_layer_runs_in_every_mode(layer: str, mode: str) -> None:
    spec = layer_spec(layer, mode)
    r = run_layer_bench(spec, CPU)

    assert isinstance(r, LayerResult)
    assert (r.layer, r.mode, r.shape, r.dtype) == (layer, mode, list(spec.shape), "float32")
    assert r.time.median_ms > 0
    assert r.time.n == spec.repeats
    assert (r.bytes_moved, r.bytes_formula) == min_bytes(spec)
    assert r.copy_gbps > 0


def test_batchnorm_fwdbwd_moves_five_tensors() -> None:
    spec = layer_spec("batchnorm2d", "train_fwdbwd")
    n = math.prod(spec.shape)
    nbytes, formula = min_bytes(spec)
    assert nbytes == 5 * n * 4
    assert formula.startswith("5·n·s")


def test_dropout_mask_costs_one_byte_per_element_each_way() -> None:
    n = math.prod(SHAPES["dropout"])
    assert min_bytes(layer_spec("dropout", "train_fwd"))[0] == 2 * n * 4 + n
    bf16 = layer_spec("dropout", "train_fwdbwd", dtype="bfloat16")
    assert min_bytes(bf16)[0] == 4 * n * 2 + 2 * n


def test_chain_and_dropout2d_bytes() -> None:
    n = math.prod(SHAPES["bn_relu_dropout"])
    assert min_bytes(layer_spec("bn_relu_dropout", "eval_fwd"))[0] == 2 * n * 4
    assert min_bytes(layer_spec("bn_relu_dropout", "train_fwdbwd"))[0] == 5 * n * 4 + 2 * n
    assert min_bytes(layer_spec("dropout2d", "train_fwdbwd"))[0] == 4 * n * 4


@pytest.mark.parametrize("layer", ["dropout", "dropout2d"])
def test_eval_dropout_is_the_identity_and_moves_nothing(layer: str) -> None:
    r = run_layer_bench(layer_spec(layer, "eval_fwd"), CPU)
    assert r.bytes_moved == 0
    assert r.achieved_gbps is None
    assert r.roofline_fraction is None


def test_achieved_bandwidth_and_roofline_follow_from_the_median() -> None:
    r = run_layer_bench(layer_spec("batchnorm2d", "train_fwdbwd"), CPU)
    assert r.achieved_gbps == pytest.approx(r.bytes_moved / (r.time.median_ms / 1e3) / 1e9)
    assert r.roofline_fraction == pytest.approx(r.achieved_gbps / r.copy_gbps)


def test_copy_bandwidth_is_positive() -> None:
    assert copy_bandwidth_gbps(CPU, nbytes=MiB, repeats=2) > 0


@pytest.mark.parametrize("layer", ["batchnorm2d", "batchnorm3d"])
def test_channels_last_input_is_channels_last(layer: str) -> None:
    spec = layer_spec(layer, memory_format="channels_last")
    x = make_input(spec, CPU)
    fmt = torch.channels_last if x.dim() == 4 else torch.channels_last_3d
    assert x.is_contiguous(memory_format=fmt)
    assert not x.is_contiguous()
    assert x.stride(1) == 1  # channels are innermost
    run_layer_bench(spec, CPU)


def test_fwdbwd_input_requires_grad_and_others_do_not() -> None:
    assert make_input(layer_spec(mode="train_fwdbwd"), CPU).requires_grad
    assert not make_input(layer_spec(mode="train_fwd"), CPU).requires_grad


def test_build_layer_honours_the_batchnorm_fields() -> None:
    bn = build_layer(
        layer_spec(
            "batchnorm2d",
            bn_momentum=None,
            bn_eps=1e-3,
            bn_affine=False,
            bn_track_running_stats=False,
        )
    )
    assert isinstance(bn, nn.BatchNorm2d)
    assert bn.num_features == 4
    assert (bn.momentum, bn.eps, bn.affine, bn.track_running_stats) == (None, 1e-3, False, False)


def test_build_layer_chain_is_bn_relu_dropout() -> None:
    chain = build_layer(layer_spec("bn_relu_dropout", dropout_p=0.25))
    assert [type(m) for m in chain] == [nn.BatchNorm2d, nn.ReLU, nn.Dropout]
    assert chain[2].p == 0.25
    assert isinstance(build_layer(layer_spec("dropout2d")), nn.Dropout2d)


def test_half_precision_input_runs() -> None:
    r = run_layer_bench(layer_spec("batchnorm2d", "train_fwdbwd", dtype="bfloat16"), CPU)
    assert r.dtype == "bfloat16"
    assert r.bytes_moved == 5 * math.prod(SHAPES["batchnorm2d"]) * 2


def test_progress_is_reported_once_per_round() -> None:
    calls: list[dict] = []
    run_layer_bench(layer_spec(), CPU, progress=lambda **kw: calls.append(kw))
    assert len(calls) == 2
    assert [c["fraction"] for c in calls] == [0.5, 1.0]
    assert all(c["epoch"] == 0 for c in calls)


def test_cancel_between_rounds_raises_cancelled() -> None:
    checks = iter([False, True])
    with pytest.raises(Cancelled):
        run_layer_bench(layer_spec(), CPU, should_cancel=lambda: next(checks))
