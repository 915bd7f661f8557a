"""Layer microbenchmark: time one BatchNorm/Dropout layer and compare it to a memory roofline.

These layers are memory bound, so the figure of merit is achieved bandwidth: the minimum
bytes a kernel must move divided by the median time per call, set against the device's
measured copy bandwidth (`dst.copy_(src)`) in the same run.

Minimum bytes, with n = numel(shape) and s = the dtype's itemsize:

    mode           BatchNorm   dropout         dropout2d   BN-ReLU-Dropout chain
    eval_fwd       2·n·s       0 (identity)    0           2·n·s
    train_fwd      2·n·s       2·n·s + n       2·n·s       2·n·s + n
    train_fwdbwd   5·n·s       4·n·s + 2·n     4·n·s       5·n·s + 2·n

Forward reads x and writes y (2·n·s). BatchNorm's backward reads x and dy and writes dx
(3·n·s); dropout's backward only needs dy and the mask (2·n·s). Element dropout stores a
1-byte mask, written in forward (n) and read in backward (n); dropout2d's mask is one
value per channel. Per-channel parameters and statistics are negligible and ignored.
The bytes assume an ideal fused kernel; eager PyTorch may move more, which shows up as a
lower roofline fraction. In eval, dropout returns its input, so nothing moves and the
achieved bandwidth and roofline fraction are None.

BatchNorm parameters stay float32 for float16/bfloat16 inputs, as under autocast.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from core.engine.errors import Cancelled
from core.engine.result import LayerResult
from core.engine.timing import summarize, synchronize, time_rounds

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}

MiB = 2**20
# The copy buffer must dwarf the caches; past 1 GiB it adds nothing but memory pressure.
COPY_BYTES_MAX = 1024 * MiB

# (reads+writes of n·s, bytes of n for the 1-byte mask) per mode and layer kind.
_BYTES: dict[tuple[str, str], tuple[int, int]] = {
    ("eval_fwd", "bn"): (2, 0),
    ("eval_fwd", "dropout"): (0, 0),
    ("eval_fwd", "dropout2d"): (0, 0),
    ("eval_fwd", "chain"): (2, 0),
    ("train_fwd", "bn"): (2, 0),
    ("train_fwd", "dropout"): (2, 1),
    ("train_fwd", "dropout2d"): (2, 0),
    ("train_fwd", "chain"): (2, 1),
    ("train_fwdbwd", "bn"): (5, 0),
    ("train_fwdbwd", "dropout"): (4, 2),
    ("train_fwdbwd", "dropout2d"): (4, 0),
    ("train_fwdbwd", "chain"): (5, 2),
}


def _batchnorm(cls: type[nn.Module], spec) -> nn.Module:
    return cls(
        spec.shape[1],
        eps=spec.bn_eps,
        momentum=spec.bn_momentum,
        affine=spec.bn_affine,
        track_running_stats=spec.bn_track_running_stats,
    )


def build_layer(spec) -> nn.Module:
    """The layer named by spec.layer, with shape[1] channels for the BatchNorm ones."""
    if spec.layer == "batchnorm1d":
        return _batchnorm(nn.BatchNorm1d, spec)
    if spec.layer == "batchnorm2d":
        return _batchnorm(nn.BatchNorm2d, spec)
    if spec.layer == "batchnorm3d":
        return _batchnorm(nn.BatchNorm3d, spec)
    if spec.layer == "dropout":
        return nn.Dropout(spec.dropout_p)
    if spec.layer == "dropout2d":
        return nn.Dropout2d(spec.dropout_p)
    if spec.layer == "bn_relu_dropout":
        return nn.Sequential(
            _batchnorm(nn.BatchNorm2d, spec), nn.ReLU(), nn.Dropout(spec.dropout_p)
        )
    raise ValueError(f"unknown layer {spec.layer!r}")


def _layer_kind(layer: str) -> str:
    if layer.startswith("batchnorm"):
        return "bn"
    return "chain" if layer == "bn_relu_dropout" else layer


def min_bytes(spec) -> tuple[int, str]:
    """Minimum bytes one call must move, and the formula that gives them."""
    n = math.prod(spec.shape)
    s = DTYPES[spec.dtype].itemsize
    a, b = _BYTES[(spec.mode, _layer_kind(spec.layer))]
    if a == 0 and b == 0:
        return 0, f"0 ({spec.layer} in eval is the identity)"
    expr = f"{a}·n·s" + (f" + {b}·n" if b else "")
    return a * n * s + b * n, f"{expr} with n={n}, s={s}"


def make_input(spec, device: torch.device) -> torch.Tensor:
    """Random input in the spec's dtype and memory format; requires grad for train_fwdbwd."""
    x = torch.randn(spec.shape, dtype=DTYPES[spec.dtype], device=device)
    if spec.memory_format == "channels_last":
        fmt = torch.channels_last if len(spec.shape) == 4 else torch.channels_last_3d
        x = x.contiguous(memory_format=fmt)
    return x.requires_grad_(spec.mode == "train_fwdbwd")


def default_copy_bytes(device: torch.device) -> int:
    return 256 * MiB if device.type == "cuda" else 64 * MiB


def copy_bandwidth_gbps(device: torch.device, nbytes: int | None = None, repeats: int = 5) -> float:
    """Measured copy bandwidth in GB/s: a copy of nbytes reads and writes 2·nbytes."""
    size = nbytes if nbytes is not None else default_copy_bytes(device)
    src = torch.ones(size, dtype=torch.uint8, device=device)
    dst = torch.empty_like(src)
    times_ms = time_rounds(lambda: dst.copy_(src), device, warmup=2, calls=3, rounds=repeats)
    return 2 * size / (summarize(times_ms).median_ms / 1e3) / 1e9


def _step_fn(spec, layer: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    if spec.mode == "eval_fwd":

        def fwd_eval() -> None:
            with torch.no_grad():
                layer(x)

        return fwd_eval
    if spec.mode == "train_fwd":

        def fwd_train() -> None:
            layer(x)

        return fwd_train

    params = [p for p in layer.parameters() if p.requires_grad]
    dy = torch.randn_like(layer(x).detach())  # randn_like keeps y's strides

    def fwd_bwd() -> None:
        # Fresh grads each call, as after zero_grad(set_to_none=True): no accumulation adds.
        x.grad = None
        for p in params:
            p.grad = None
        layer(x).backward(dy)

    return fwd_bwd


def run_layer_bench(
    spec,
    device: torch.device,
    progress: Callable[..., None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> LayerResult:
    """Time spec.layer on spec.shape in spec.mode; one round per spec.repeats."""
    torch.manual_seed(spec.seed)
    layer = build_layer(spec).to(device)
    layer.train(spec.mode != "eval_fwd")
    if spec.compile != "none":
        layer = torch.compile(layer, mode=None if spec.compile == "default" else spec.compile)
    x = make_input(spec, device)
    fn = _step_fn(spec, layer, x)

    times_ms: list[float] = []
    for i in range(spec.repeats):
        if should_cancel is not None and should_cancel():
            raise Cancelled(f"cancelled after {i} of {spec.repeats} rounds")
        # Rounds are timed one at a time so progress and cancel can run between them.
        warmup = spec.warmup_steps if i == 0 else 0
        times_ms += time_rounds(fn, device, warmup=warmup, calls=spec.timed_steps, rounds=1)
        if progress is not None:
            progress(epoch=0, step=i + 1, fraction=(i + 1) / spec.repeats)
    synchronize(device)
    stats = summarize(times_ms)

    nbytes, formula = min_bytes(spec)
    input_bytes = x.numel() * x.element_size()
    copy_bytes = min(max(default_copy_bytes(device), 4 * input_bytes), COPY_BYTES_MAX)
    copy_gbps = copy_bandwidth_gbps(device, copy_bytes)
    achieved = nbytes / (stats.median_ms / 1e3) / 1e9 if nbytes else None
    return LayerResult(
        layer=spec.layer,
        mode=spec.mode,
        shape=list(spec.shape),
        dtype=spec.dtype,
        time=stats,
        bytes_moved=nbytes,
        bytes_formula=formula,
        achieved_gbps=achieved,
        copy_gbps=copy_gbps,
        roofline_fraction=achieved / copy_gbps if achieved is not None else None,
    )
