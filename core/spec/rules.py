"""Cross-field rules of BenchSpec. Each failure names the field and the fix."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from core.errors import FieldError
from core.spec.choices import IMAGE_DATASETS, SEEDNET_FIXED

if TYPE_CHECKING:
    from core.spec.schema import BenchSpec


class SpecRuleError(FieldError):
    """A spec that is well typed but inconsistent; `field` is the one to change."""


LAYER_RANKS = {
    "batchnorm1d": (2, 3),
    "batchnorm2d": (4,),
    "batchnorm3d": (5,),
    "dropout": (2, 3, 4, 5),
    "dropout2d": (3, 4),
    "bn_relu_dropout": (4,),
}


def check_spec(s: BenchSpec) -> None:
    """Raise SpecRuleError on the first inconsistency."""
    _check_runtime(s)
    if s.kind == "layer":
        _check_layer(s)
    else:
        _check_model(s)


def _check_runtime(s: BenchSpec) -> None:
    if s.gpu_model and s.device == "cpu":
        raise SpecRuleError("gpu_model", "asks for a GPU but device=cpu; set device=cuda or auto")
    if s.cuda_graph and s.device == "cpu":
        raise SpecRuleError(
            "cuda_graph", "needs a CUDA device; set device=cuda or cuda_graph=false"
        )
    if s.cuda_graph and s.compile != "none":
        raise SpecRuleError(
            "cuda_graph",
            f"compile={s.compile} already manages graphs; set compile=none or cuda_graph=false",
        )
    if s.cuda_graph and s.precision == "fp16":
        raise SpecRuleError(
            "precision",
            "fp16 needs a gradient scaler that syncs the host; use bf16 with cuda_graph",
        )
    if s.cuda_graph and s.norm == "batchnorm" and s.bn_momentum is None:
        raise SpecRuleError(
            "bn_momentum",
            "null (cumulative) reads a step counter on the host, which a CUDA graph cannot "
            "capture; set a momentum such as 0.1, or cuda_graph=false",
        )
    if s.cuda_graph and s.kind == "layer":
        raise SpecRuleError("cuda_graph", "applies to kind=model; set cuda_graph=false")


def _check_model(s: BenchSpec) -> None:

    if s.family == "seednet":
        for name, fixed in SEEDNET_FIXED.items():
            if getattr(s, name) != fixed:
                raise SpecRuleError(
                    name,
                    f"seednet is the article's fixed Net ({name}={fixed}); "
                    f"use family=mlp to change {name}",
                )
        ok = s.dataset in ("synthetic_regression", "npz") or (
            s.dataset == "synthetic" and s.synthetic_features == 10 and s.synthetic_classes == 2
        )
        if not ok:
            raise SpecRuleError(
                "dataset",
                "seednet takes 10 features and has one output; use synthetic_regression, "
                "synthetic with synthetic_features=10 and synthetic_classes=2, or npz",
            )
    if s.family == "cnn" and s.dataset not in (*IMAGE_DATASETS, "synthetic", "npz"):
        raise SpecRuleError(
            "dataset",
            f"cnn needs images; {s.dataset} is tabular. Use digits, mnist, "
            "fashion_mnist, cifar10, synthetic or npz, or family=mlp",
        )
    if s.family == "cnn3d" and s.dataset not in ("synthetic", "npz"):
        raise SpecRuleError("dataset", "cnn3d needs volumes; use dataset=synthetic or npz")
    if s.norm == "batchnorm" and s.batch_size < 2:
        raise SpecRuleError(
            "batch_size", "BatchNorm in training needs batch_size >= 2; raise it or set norm=none"
        )
    if s.train_size is not None and s.train_size < s.batch_size:
        raise SpecRuleError(
            "train_size",
            f"train_size={s.train_size} is below batch_size={s.batch_size}, so no full batch "
            "exists; raise train_size or lower batch_size",
        )
    if s.val_fraction + s.test_fraction >= 0.95:
        raise SpecRuleError(
            "test_fraction",
            f"val_fraction={s.val_fraction:g} and test_fraction={s.test_fraction:g} leave "
            "under 5% for training; lower one of them",
        )
    if s.dataset.startswith("synthetic"):
        n_train = math.floor(s.synthetic_samples * (1 - s.val_fraction - s.test_fraction))
        if n_train < s.batch_size:
            raise SpecRuleError(
                "synthetic_samples",
                f"only {n_train} training samples for batch_size={s.batch_size}; "
                "raise synthetic_samples or lower batch_size",
            )
    if s.bn_recalibrate and (s.norm != "batchnorm" or not s.bn_track_running_stats):
        raise SpecRuleError(
            "bn_recalibrate", "needs norm=batchnorm with bn_track_running_stats=true"
        )
    if s.channels_last and s.family != "cnn":
        raise SpecRuleError("channels_last", "applies to cnn only; set channels_last=false")
    if s.dropout_kind == "channel" and not s.is_conv:
        raise SpecRuleError(
            "dropout_kind", "channel dropout (Dropout2d/3d) applies to cnn and cnn3d; use element"
        )
    if s.dropout_layers == "conv_only" and not s.is_conv:
        raise SpecRuleError("dropout_layers", f"{s.family} has no conv layers; use all or fc_only")
    if s.norm == "groupnorm" and s.width % s.groupnorm_groups:
        raise SpecRuleError(
            "groupnorm_groups",
            f"must divide width={s.width}; pick a divisor such as {_divisor(s.width)}",
        )
    if s.target_val_accuracy is not None and s.dataset == "synthetic_regression":
        raise SpecRuleError(
            "target_val_accuracy", "accuracy is undefined for regression; set it to null"
        )
    if s.compile != "none" and s.deterministic:
        raise SpecRuleError("deterministic", "is not supported with compile; pick one")


def _check_layer(s: BenchSpec) -> None:
    ranks = LAYER_RANKS[s.layer]
    if len(s.shape) not in ranks:
        want = " or ".join(str(r) for r in ranks)
        raise SpecRuleError(
            "shape", f"{s.layer} takes a {want}-D input including batch, got {list(s.shape)}"
        )
    if s.memory_format == "channels_last" and len(s.shape) not in (4, 5):
        raise SpecRuleError("memory_format", "channels_last needs a 4-D or 5-D shape")
    if "batchnorm" in s.layer or s.layer == "bn_relu_dropout":
        per_channel = math.prod(s.shape) // s.shape[1]
        if s.mode != "eval_fwd" and per_channel < 2:
            raise SpecRuleError(
                "shape",
                "BatchNorm in training needs more than one value per channel; "
                "raise the batch size (shape[0])",
            )


def _divisor(n: int) -> int:
    for d in (8, 4, 2, 1):
        if n % d == 0:
            return d
    return 1
