"""Fold eval-mode BatchNorm into the Linear or Conv before it, for inference.

A dropout between the two does not stop the fold: in eval it is the identity, and the
folded model is only ever run in eval. BN without affine parameters folds as scale 1 and
shift 0.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_weights, fuse_linear_bn_weights

_BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
_CONV_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_DROPOUT_TYPES = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout)


def is_foldable(prev: nn.Module, bn: nn.Module) -> bool:
    """BN folds only when it follows a weight layer and normalizes with running stats."""
    return (
        isinstance(bn, _BN_TYPES)
        and bn.track_running_stats
        and bn.running_mean is not None
        and isinstance(prev, (nn.Linear, *_CONV_TYPES))
    )


def _fuse(prev: nn.Module, bn: nn.Module) -> nn.Module:
    fused = copy.deepcopy(prev)
    scale = bn.weight if bn.affine else torch.ones_like(bn.running_var)
    shift = bn.bias if bn.affine else torch.zeros_like(bn.running_mean)
    stats = (bn.running_mean, bn.running_var, bn.eps, scale, shift)
    if isinstance(prev, nn.Linear):
        fused.weight, fused.bias = fuse_linear_bn_weights(prev.weight, prev.bias, *stats)
    else:
        fused.weight, fused.bias = fuse_conv_bn_weights(prev.weight, prev.bias, *stats)
    return fused


def fold_batchnorm(model: nn.Sequential) -> tuple[nn.Sequential, int, int]:
    """An eval-mode copy of `model` with every foldable BN merged into its predecessor.

    Returns (folded model, number folded, number of BN layers left unfolded).
    """
    src = copy.deepcopy(model).eval()
    mods = list(src)
    out: list[nn.Module] = []
    folded = unfoldable = 0
    i = 0
    while i < len(mods):
        m = mods[i]
        skip = 1 if i + 2 < len(mods) and isinstance(mods[i + 1], _DROPOUT_TYPES) else 0
        nxt = mods[i + 1 + skip] if i + 1 + skip < len(mods) else None
        if nxt is not None and is_foldable(m, nxt):
            out.append(_fuse(m, nxt))
            folded += 1
            i += 2 + skip
            continue
        if isinstance(m, _BN_TYPES):
            unfoldable += 1
        out.append(m)
        i += 1
    return nn.Sequential(*out).eval(), folded, unfoldable
