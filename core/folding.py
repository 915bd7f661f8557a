"""Fold eval-mode BatchNorm into the Linear or Conv right before it, for inference."""

from __future__ import annotations

import copy

from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

_BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
_CONV_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


def is_foldable(prev: nn.Module, bn: nn.Module) -> bool:
    """BN folds only when it directly follows a weight layer and normalizes with running stats."""
    return (
        isinstance(bn, _BN_TYPES)
        and bn.track_running_stats
        and bn.running_mean is not None
        and isinstance(prev, (nn.Linear, *_CONV_TYPES))
    )


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
        nxt = mods[i + 1] if i + 1 < len(mods) else None
        if nxt is not None and is_foldable(m, nxt):
            fuse = fuse_linear_bn_eval if isinstance(m, nn.Linear) else fuse_conv_bn_eval
            out.append(fuse(m, nxt))
            folded += 1
            i += 2
            continue
        if isinstance(m, _BN_TYPES):
            unfoldable += 1
        out.append(m)
        i += 1
    return nn.Sequential(*out).eval(), folded, unfoldable
