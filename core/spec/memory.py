"""How much memory a spec needs, from the spec alone: no torch, no data, no allocation.

The network is walked as core.engine.networks builds it, so parameter counts are exact (a test
compares them with the built models). Activations are counted as the outputs of every
module for one sample, which autograd keeps for the backward pass; the total is an estimate
with headroom, meant to refuse a spec that cannot fit, not to predict the allocator's peak:

    training  = parameters x (weights, gradients, optimizer state)
              + 2 x activations x batch_size          (forward outputs and their gradients)
    inference = 2 x activations x the largest inference batch
    data      = 3 x samples x features                (the host array, the device tensor, and
                                                        the epoch's shuffled training split)
    total     = max(training, inference) + data, in float32 bytes

A layer benchmark holds its input and output, and in train_fwdbwd their gradients too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.spec.schema import BenchSpec

FLOAT32 = 4
MIB = 1 << 20
LAYER_DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}

# Per-sample shape, classes and samples of the bundled datasets (npz: read at run time).
DATASET_SHAPES: dict[str, tuple[tuple[int, ...], int, int]] = {
    "digits": ((1, 8, 8), 10, 1797),
    "breast_cancer": ((30,), 2, 569),
    "wine": ((13,), 3, 178),
    "mnist": ((1, 28, 28), 10, 70_000),
    "fashion_mnist": ((1, 28, 28), 10, 70_000),
    "cifar10": ((3, 32, 32), 10, 60_000),
    "npz": ((1,), 10, 0),  # unknown until the file is read: counts the network only
}


@dataclass(frozen=True)
class MemoryEstimate:
    parameters: int
    activations_per_sample: int  # elements of every module's output, for one sample
    training_bytes: int
    inference_bytes: int
    data_bytes: int

    @property
    def total_bytes(self) -> int:
        return max(self.training_bytes, self.inference_bytes) + self.data_bytes

    @property
    def total_mb(self) -> float:
        return self.total_bytes / MIB

    def summary(self) -> str:
        return (
            f"about {self.total_mb:,.0f} MiB: {self.parameters:,} parameters, "
            f"{self.training_bytes / MIB:,.0f} MiB to train, {self.data_bytes / MIB:,.0f} MiB "
            "of data"
        )


def input_shape(spec: BenchSpec) -> tuple[tuple[int, ...], int, int]:
    """(per-sample shape, outputs, samples) of the spec's data."""
    if spec.dataset == "synthetic":
        s = spec.synthetic_image_size
        shape = {"cnn": (3, s, s), "cnn3d": (1, s, s, s)}.get(
            spec.family, (spec.synthetic_features,)
        )
        return shape, spec.synthetic_classes, spec.synthetic_samples
    if spec.dataset == "synthetic_regression":
        return (10,), 1, spec.synthetic_samples
    return DATASET_SHAPES[spec.dataset]


class _Walk:
    """Counts parameters and per-sample output elements of a hidden stack, module by module."""

    def __init__(self, spec: BenchSpec):
        self.spec = spec
        self.params = 0
        self.outputs = 0

    def norm_params(self, features: int) -> int:
        s = self.spec
        return 2 * features if s.norm != "none" and s.bn_affine else 0

    def dropout_here(self, is_conv: bool) -> bool:
        s = self.spec
        if s.dropout_p == 0:
            return False
        return not (
            (s.dropout_layers == "fc_only" and is_conv)
            or (s.dropout_layers == "conv_only" and not is_conv)
        )

    def block(self, layer_params: int, features: int, elements: int, is_conv: bool,
              normalize: bool) -> None:  # fmt: skip
        """A hidden block: layer, norm, activation, dropout, each `elements` per sample."""
        self.params += layer_params
        modules = 2  # the layer and its activation
        if normalize and self.spec.norm != "none":
            self.params += self.norm_params(features)
            modules += 1
        if self.dropout_here(is_conv):
            modules += 1
        self.outputs += modules * elements


def _walk(spec: BenchSpec) -> tuple[int, int]:
    shape, n_out, _ = input_shape(spec)
    w = _Walk(spec)
    if not spec.is_conv:
        features = math.prod(shape)
        for i in range(spec.depth):
            last = i == spec.depth - 1
            w.block(features * spec.width + spec.width, spec.width, spec.width, False,
                    spec.bn_last_layer or not last)  # fmt: skip
            features = spec.width
        w.params += features * n_out + n_out
        w.outputs += n_out
        return w.params, w.outputs
    channels, dims = shape[0], list(shape[1:])
    size = min(dims)
    for i in range(spec.depth):
        out = spec.width * 2 ** min(i, 2)
        kernel = 3 ** len(dims)
        w.block(channels * out * kernel + out, out, out * math.prod(dims), True, True)
        channels = out
        if size >= 4:
            dims = [d // 2 for d in dims]
            size //= 2
            w.outputs += out * math.prod(dims)  # the pooling output
    w.outputs += channels  # adaptive average pooling
    w.block(channels * channels + channels, channels, channels, False, spec.bn_last_layer)
    w.params += channels * n_out + n_out
    w.outputs += n_out
    return w.params, w.outputs


def estimate(spec: BenchSpec) -> MemoryEstimate:
    """The memory `spec` needs, in float32 bytes."""
    if spec.kind == "layer":
        n = math.prod(spec.shape) * LAYER_DTYPE_BYTES[spec.dtype]
        held = {"train_fwd": 2, "eval_fwd": 2, "train_fwdbwd": 4}[spec.mode]
        if spec.layer == "bn_relu_dropout":
            held += 2  # the chain's intermediates
        return MemoryEstimate(0, 0, held * n, 2 * n, 0)
    params, per_sample = _walk(spec)
    states = 0 if spec.optimizer == "sgd" and spec.momentum == 0 else 1
    if spec.optimizer in ("adam", "adamw"):
        states = 2
    training = FLOAT32 * (params * (2 + states) + 2 * per_sample * spec.batch_size)
    inference = FLOAT32 * (params + 2 * per_sample * max(spec.infer_batch_sizes))
    shape, _, samples = input_shape(spec)
    data = 3 * FLOAT32 * samples * math.prod(shape)
    return MemoryEstimate(params, per_sample, training, inference, data)
