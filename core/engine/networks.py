"""Model families as flat nn.Sequential stacks, so BN folding and statistics hooks can walk them.

Hidden block order, by (bn_position, dropout_position):
    before_activation, after_activation:   layer, norm, act, dropout   (the article's advice)
    before_activation, before_activation:  layer, norm, dropout, act
    before_activation, before_norm:        layer, dropout, norm, act
    after_activation,  after_activation:   layer, act, norm, dropout
    after_activation,  before_activation:  layer, dropout, act, norm
    after_activation,  before_norm:        layer, act, dropout, norm
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from core.spec.schema import BenchSpec

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.01),
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
}

_BN = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}
_CONV = {2: nn.Conv2d, 3: nn.Conv3d}
_POOL = {2: nn.MaxPool2d, 3: nn.MaxPool3d}
_CHANNEL_DROPOUT = {2: nn.Dropout2d, 3: nn.Dropout3d}


def make_norm(spec: BenchSpec, features: int, spatial_dims: int) -> nn.Module | None:
    """The spec's norm layer for `features` channels; spatial_dims is 0 for Linear outputs."""
    if spec.norm == "none":
        return None
    if spec.norm == "batchnorm":
        return _BN[max(spatial_dims, 1)](
            features,
            eps=spec.bn_eps,
            momentum=spec.bn_momentum,
            affine=spec.bn_affine,
            track_running_stats=spec.bn_track_running_stats,
        )
    if spec.norm == "layernorm":
        if spatial_dims == 0:
            return nn.LayerNorm(features, eps=spec.bn_eps, elementwise_affine=spec.bn_affine)
        return nn.GroupNorm(1, features, eps=spec.bn_eps, affine=spec.bn_affine)
    return nn.GroupNorm(spec.groupnorm_groups, features, eps=spec.bn_eps, affine=spec.bn_affine)


def make_dropout(spec: BenchSpec, spatial_dims: int) -> nn.Module | None:
    is_conv = spatial_dims > 0
    if spec.dropout_p == 0:
        return None
    if (spec.dropout_layers == "fc_only" and is_conv) or (
        spec.dropout_layers == "conv_only" and not is_conv
    ):
        return None
    if is_conv and spec.dropout_kind == "channel":
        return _CHANNEL_DROPOUT[spatial_dims](spec.dropout_p)
    return nn.Dropout(spec.dropout_p)


def hidden_block(
    spec: BenchSpec, layer: nn.Module, features: int, spatial_dims: int, normalize: bool = True
) -> list[nn.Module]:
    norm = make_norm(spec, features, spatial_dims) if normalize else None
    drop = make_dropout(spec, spatial_dims)
    act = ACTIVATIONS[spec.activation]()
    orders = {
        ("before_activation", "after_activation"): [norm, act, drop],
        ("before_activation", "before_activation"): [norm, drop, act],
        ("before_activation", "before_norm"): [drop, norm, act],
        ("after_activation", "after_activation"): [act, norm, drop],
        ("after_activation", "before_activation"): [drop, act, norm],
        ("after_activation", "before_norm"): [act, drop, norm],
    }
    order = orders[(spec.bn_position, spec.dropout_position)]
    return [layer, *(m for m in order if m is not None)]


def _flat_features(input_shape: tuple[int, ...]) -> int:
    n = 1
    for d in input_shape:
        n *= d
    return n


def build_mlp(spec: BenchSpec, input_shape: tuple[int, ...], n_outputs: int) -> nn.Sequential:
    mods: list[nn.Module] = [nn.Flatten()] if len(input_shape) > 1 else []
    features = _flat_features(input_shape)
    for i in range(spec.depth):
        last = i == spec.depth - 1
        lin = nn.Linear(features, spec.width)
        mods += hidden_block(spec, lin, spec.width, 0, normalize=spec.bn_last_layer or not last)
        features = spec.width
    mods.append(nn.Linear(features, n_outputs))
    return nn.Sequential(*mods)


def _build_conv(dims: int) -> Callable[[BenchSpec, tuple[int, ...], int], nn.Sequential]:
    def build(spec: BenchSpec, input_shape: tuple[int, ...], n_outputs: int) -> nn.Sequential:
        if len(input_shape) != dims + 1:
            raise ValueError(
                f"{spec.family} needs inputs of {dims + 1} dims per sample, got {input_shape}"
            )
        channels, size = input_shape[0], min(input_shape[1:])
        mods: list[nn.Module] = []
        for i in range(spec.depth):
            out = spec.width * 2 ** min(i, 2)
            conv = _CONV[dims](channels, out, kernel_size=3, padding=1)
            mods += hidden_block(spec, conv, out, dims)
            channels = out
            if size >= 4:
                mods.append(_POOL[dims](2))
                size //= 2
        pool = nn.AdaptiveAvgPool2d(1) if dims == 2 else nn.AdaptiveAvgPool3d(1)
        mods += [pool, nn.Flatten()]
        fc = nn.Linear(channels, channels)
        mods += hidden_block(spec, fc, channels, 0, normalize=spec.bn_last_layer)
        mods.append(nn.Linear(channels, n_outputs))
        return nn.Sequential(*mods)

    return build


# The seed article's Net is the MLP at depth 1, width 20; spec rules pin those fields.
MODELS: dict[str, Callable[[BenchSpec, tuple[int, ...], int], nn.Sequential]] = {
    "mlp": build_mlp,
    "seednet": build_mlp,
    "cnn": _build_conv(2),
    "cnn3d": _build_conv(3),
}


def build_model(spec: BenchSpec, input_shape: tuple[int, ...], n_outputs: int) -> nn.Sequential:
    """Build the spec's network for per-sample `input_shape` and `n_outputs` logits."""
    return MODELS[spec.family](spec, tuple(input_shape), n_outputs)


def param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
