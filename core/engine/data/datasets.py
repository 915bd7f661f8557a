"""Dataset registry and the seeded train/validation split.

A dataset is one loader function `spec -> (x, y, task)` plus one entry in DATASETS.
Everything is offline: synthetic data is generated, sklearn's sets ship with it, and
the file formats are read from `data_root` by core.engine.data.formats.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from core.engine.data import formats
from core.engine.data.formats import DataError
from core.spec.schema import BenchSpec

__all__ = ["DATASETS", "DataError", "DataSplit", "load_data"]

Task = Literal["classification", "regression"]


@dataclass(frozen=True, eq=False)  # eq on tensors would be ambiguous
class DataSplit:
    x_train: torch.Tensor  # float32 on the device, (N, *input_shape), standardized
    y_train: torch.Tensor  # int64 class ids, or float32 (N, 1) standardized targets
    x_val: torch.Tensor
    y_val: torch.Tensor
    task: Task
    n_classes: int  # 1 for regression
    input_shape: tuple[int, ...]  # (F,) tabular, (C, H, W) images, (C, D, H, W) volumes
    name: str
    x_test: torch.Tensor | None = None  # spec.test_fraction's split; None when it is 0
    y_test: torch.Tensor | None = None


# ---------------------------------------------------------------------------- synthetic


def _rng(*parts: object) -> np.random.Generator:
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def synthetic_shape(spec: BenchSpec) -> tuple[int, ...]:
    s = spec.synthetic_image_size
    return {"cnn": (3, s, s), "cnn3d": (1, s, s, s)}.get(spec.family, (spec.synthetic_features,))


_CLUSTERS_PER_CLASS = 2  # two blobs per class: the classes are not linearly separable
_PROTO_RES = 4  # image prototypes are 4x4(x4) patterns upsampled, so neighbours correlate


def _prototypes(rng: np.random.Generator, count: int, shape: tuple[int, ...]) -> np.ndarray:
    if len(shape) == 1:
        protos = rng.standard_normal((count, *shape))
    else:
        protos = rng.standard_normal((count, shape[0], *[_PROTO_RES] * (len(shape) - 1)))
        for axis, side in enumerate(shape[1:], start=2):
            protos = np.take(protos, np.arange(side) * _PROTO_RES // side, axis=axis)
    norms = np.sqrt((protos.reshape(count, -1) ** 2).sum(1))
    return (protos / norms.reshape(-1, *[1] * len(shape))).astype(np.float32)


def noise_std(difficulty: float) -> float:
    """Per-dimension noise around unit-norm prototypes (pairwise distance ~sqrt(2)).

    Not scaled with the dimension, so difficulty alone sets the Bayes error: half the
    distance between two prototypes is 14 noise stds at 0, 2 at 0.5 and 0.35 at 1.
    """
    return 0.05 * 40.0**difficulty


def _synthetic(spec: BenchSpec) -> tuple[np.ndarray, np.ndarray, Task]:
    shape, k, n = synthetic_shape(spec), spec.synthetic_classes, spec.synthetic_samples
    # The problem (prototypes) depends on shape and classes only, the draw on every
    # synthetic_* field; spec.seed never enters, so seeds repeat the same problem.
    protos = _prototypes(_rng("synthetic", shape, k), k * _CLUSTERS_PER_CLASS, shape)
    rng = _rng("synthetic-draw", shape, k, n, spec.synthetic_difficulty)
    cluster = rng.permutation(np.arange(n) % len(protos))
    x = rng.standard_normal((n, *shape), dtype=np.float32)
    x *= noise_std(spec.synthetic_difficulty)
    x += protos[cluster]
    return x, cluster % k, "classification"


def _synthetic_regression(spec: BenchSpec) -> tuple[np.ndarray, np.ndarray, Task]:
    teacher = _rng("synthetic_regression-teacher")
    w1, b1 = teacher.standard_normal((10, 20)) / np.sqrt(10), teacher.standard_normal(20) * 0.5
    w2 = teacher.standard_normal((20, 1)) / np.sqrt(20)
    n, d = spec.synthetic_samples, spec.synthetic_difficulty
    rng = _rng("synthetic_regression-draw", n, d)
    x = rng.standard_normal((n, 10))
    f = np.tanh(x @ w1 + b1) @ w2
    y = f + d * f.std() * rng.standard_normal((n, 1))
    return x.astype(np.float32), y.astype(np.float32), "regression"


# ---------------------------------------------------------------------------- bundled / files


def _sklearn(name: str) -> Callable[[BenchSpec], tuple[np.ndarray, np.ndarray, Task]]:
    def load(spec: BenchSpec) -> tuple[np.ndarray, np.ndarray, Task]:
        from sklearn import datasets  # slow import, only when asked for

        bunch = getattr(datasets, f"load_{name}")()
        x = bunch.data.reshape(-1, 1, 8, 8) if name == "digits" else bunch.data
        return x, bunch.target, "classification"

    return load


def _files(reader: Callable[[str], tuple[np.ndarray, np.ndarray]]):
    def load(spec: BenchSpec) -> tuple[np.ndarray, np.ndarray, Task]:
        return (*reader(spec.data_root), "classification")

    return load


def _npz(spec: BenchSpec) -> tuple[np.ndarray, np.ndarray, Task]:
    x, y = formats.load_npz(spec.data_root, spec.npz_file)
    where = f"{spec.npz_file}:"
    if x.ndim == 1:
        x = x[:, None]
    if x.dtype.kind not in "biuf" or y.dtype.kind not in "biuf":
        raise DataError("npz_file", f"{where} x and y must be numeric, got {x.dtype}, {y.dtype}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or len(y) != len(x):
        raise DataError(
            "npz_file", f"{where} y {list(y.shape)} must be (N,) or (N, 1) for x {list(x.shape)}"
        )
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise DataError("npz_file", f"{where} x contains NaN or inf")
    if y.dtype.kind == "f":
        if not np.isfinite(y).all():
            raise DataError("npz_file", f"{where} y contains NaN or inf")
        return x, y[:, None].astype(np.float32), "regression"
    if y.size and y.min() < 0:
        raise DataError("npz_file", f"{where} integer y are class ids and must be >= 0")
    return x, y, "classification"


DATASETS: dict[str, Callable[[BenchSpec], tuple[np.ndarray, np.ndarray, Task]]] = {
    "synthetic": _synthetic,
    "synthetic_regression": _synthetic_regression,
    "digits": _sklearn("digits"),
    "breast_cancer": _sklearn("breast_cancer"),
    "wine": _sklearn("wine"),
    "mnist": _files(formats.load_mnist),
    "fashion_mnist": _files(formats.load_fashion_mnist),
    "cifar10": _files(formats.load_cifar10),
    "npz": _npz,
}


# ---------------------------------------------------------------------------- split


def _standardize(train: np.ndarray, others: list[np.ndarray], per_feature: bool = False) -> None:
    """In place, with training-split statistics: per feature for flat data (or when
    per_feature, as for an MLP reading images as flat vectors), else per channel (axis 1)."""
    if per_feature and train.ndim > 2:
        flat = [a.reshape(len(a), int(np.prod(a.shape[1:]))) for a in (train, *others)]  # views
        return _standardize(flat[0], flat[1:])
    axes = (0,) if train.ndim == 2 else (0, *range(2, train.ndim))
    mean = train.mean(axis=axes, dtype=np.float64, keepdims=True).astype(np.float32)
    train -= mean
    # Centered first, so the variance does not cancel catastrophically.
    var = np.square(train).mean(axis=axes, dtype=np.float64, keepdims=True)
    std = np.maximum(np.sqrt(var), 1e-6).astype(np.float32)
    train /= std
    for a in others:
        a -= mean
        a /= std


_SAMPLE_RANKS = {"cnn": 3, "cnn3d": 4}


def load_data(spec: BenchSpec, device: torch.device) -> DataSplit:
    """Load spec.dataset, split it with spec.seed, standardize with train statistics."""
    x, y, task = DATASETS[spec.dataset](spec)
    input_shape = tuple(int(d) for d in x.shape[1:])
    rank = _SAMPLE_RANKS.get(spec.family)
    if rank is not None and len(input_shape) != rank:
        raise DataError(
            "family",
            f"{spec.family} takes samples of rank {rank}, but "
            f"{spec.dataset} gives {list(input_shape)}; use family=mlp",
        )
    n = len(x)
    n_val = round(spec.val_fraction * n)
    if not 1 <= n_val < n:
        raise DataError(
            "val_fraction",
            f"{spec.val_fraction} of {n} samples leaves "
            f"{n_val} for validation and {n - n_val} for training; change it",
        )
    n_test = round(spec.test_fraction * n)
    if n_val + n_test >= n or (spec.test_fraction > 0 and n_test < 1):
        raise DataError(
            "test_fraction",
            f"{spec.test_fraction} of {n} samples leaves {n_test} for testing, {n_val} for "
            f"validation and {n - n_val - n_test} for training; change it or val_fraction",
        )
    perm = np.random.default_rng(spec.seed).permutation(n)
    # Validation first, so test_fraction=0 gives the split older results had.
    val_idx, train_idx = perm[:n_val], perm[n_val + n_test :]
    test_idx = perm[n_val : n_val + n_test]
    if spec.train_size is not None:
        if spec.train_size > len(train_idx):
            raise DataError(
                "train_size",
                f"{spec.train_size} requested but only "
                f"{len(train_idx)} training samples are available in {spec.dataset}",
            )
        train_idx = train_idx[: spec.train_size]
    if len(train_idx) < spec.batch_size:
        raise DataError(
            "batch_size",
            f"{spec.batch_size} exceeds the {len(train_idx)} "
            f"training samples of {spec.dataset}; lower batch_size",
        )

    # Index before converting, so only the selected samples are ever cast to float32.
    splits = (train_idx, val_idx, test_idx)
    x_tr, x_va, x_te = (np.asarray(x[i], dtype=np.float32) for i in splits)
    _standardize(x_tr, [x_va, x_te], per_feature=spec.family not in _SAMPLE_RANKS)
    if task == "regression":
        y_tr, y_va, y_te = (np.asarray(y[i], dtype=np.float32).reshape(-1, 1) for i in splits)
        _standardize(y_tr, [y_va, y_te])
        n_classes = 1
    else:
        y_tr, y_va, y_te = (np.asarray(y[i], dtype=np.int64) for i in splits)
        n_classes = int(y.max()) + 1

    def put(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a)).to(device)

    test = (put(x_te), put(y_te)) if n_test else (None, None)
    return DataSplit(
        put(x_tr), put(y_tr), put(x_va), put(y_va), task, n_classes, input_shape, spec.dataset,
        *test,
    )  # fmt: skip
