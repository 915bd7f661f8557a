"""Datasets: the on-disk formats, the registry, and the seeded, standardized split.

Real-format files are written small into tmp_path, byte for byte as the originals
are laid out, so these tests need no downloads.
"""

from __future__ import annotations

import pickle
import typing

import numpy as np
import pytest
import torch

from core.engine.data import formats
from core.engine.data.datasets import DATASETS, DataError, load_data
from core.spec.schema import BenchSpec
from tests.core.datafiles import (
    IDX_CODES,
    cifar_arrays,
    python2_cifar_pickle,
    write_cifar_bin,
    write_cifar_py,
    write_idx,
    write_mnist,
)

CPU = torch.device("cpu")


def spec(**kw):
    return BenchSpec(**{"batch_size": 8, "synthetic_samples": 64, **kw})


# ---------------------------------------------------------------------------- IDX / MNIST


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dtype", list(IDX_CODES))
def test_read_idx_round_trips_big_endian_data_plain_or_gzipped(tmp_path, dtype, gz):
    arr = (np.arange(24) - 5).reshape(2, 3, 4).astype(dtype)
    out = formats.read_idx(write_idx(tmp_path / "f.idx", arr, gz))
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, arr)


def test_read_idx_names_the_file_when_magic_is_bad_or_data_truncated(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x12\x34\x08\x01" + bytes(8))
    with pytest.raises(DataError, match="not an IDX file") as e:
        formats.read_idx(bad)
    assert str(bad) in str(e.value)
    short = write_idx(tmp_path / "short", np.zeros((5, 4), np.uint8))
    short.write_bytes(short.read_bytes()[:-3])
    with pytest.raises(DataError, match="truncated") as e:
        formats.read_idx(short)
    assert e.value.field == "data_root" and str(short) in e.value.message


def test_mnist_reads_idx_files_written_in_the_real_format(tmp_path):
    x, y = write_mnist(tmp_path / "mnist")
    images, labels = formats.load_mnist(tmp_path)
    assert images.shape == (40, 1, 28, 28) and labels.dtype == np.int64
    np.testing.assert_array_equal(images[:, 0], x)
    np.testing.assert_array_equal(labels, y)
    d = load_data(spec(dataset="mnist", data_root=str(tmp_path)), CPU)
    assert d.input_shape == (1, 28, 28) and d.n_classes == 10 and d.task == "classification"


def test_fashion_mnist_reads_the_gzipped_torchvision_layout(tmp_path):
    x, _ = write_mnist(tmp_path / "FashionMNIST" / "raw", gz=True)
    images, _ = formats.load_fashion_mnist(tmp_path)
    np.testing.assert_array_equal(images[:, 0], x)


def test_missing_mnist_names_paths_and_fix(tmp_path):
    with pytest.raises(DataError) as e:
        load_data(spec(dataset="mnist", data_root=str(tmp_path)), CPU)
    assert e.value.field == "data_root"
    for tried in (
        "mnist/train-images-idx3-ubyte",
        "mnist/train-images-idx3-ubyte.gz",
        "MNIST/raw/train-images-idx3-ubyte",
        "MNIST/raw/train-images-idx3-ubyte.gz",
    ):
        assert str(tmp_path / tried) in e.value.message
    assert "put train-images-idx3-ubyte(.gz)" in e.value.message.lower()
    assert "set data_root" in e.value.message


def test_mnist_labels_must_sit_beside_the_images(tmp_path):
    write_idx(tmp_path / "mnist" / "train-images-idx3-ubyte", np.zeros((4, 28, 28), np.uint8))
    with pytest.raises(DataError, match="train-labels-idx1-ubyte") as e:
        formats.load_mnist(tmp_path)
    assert str(tmp_path / "mnist" / "train-labels-idx1-ubyte.gz") in e.value.message


# ---------------------------------------------------------------------------- CIFAR-10


def test_cifar10_binary_batches_keep_chw_layout_and_use_every_batch_present(tmp_path):
    write_cifar_bin(tmp_path / "cifar-10-batches-bin", batches=3)
    x, y = formats.load_cifar10(tmp_path)
    assert x.shape == (30, 3, 32, 32) and y.tolist() == list(range(10)) * 3
    data, _ = cifar_arrays(seed=2)
    np.testing.assert_array_equal(x[10:20].reshape(10, -1), data)


@pytest.mark.parametrize("protocol", [2, 5])
def test_cifar10_python_batches_load_through_restricted_unpickler(tmp_path, protocol):
    write_cifar_py(tmp_path / "cifar-10-batches-py", protocol=protocol)
    x, y = formats.load_cifar10(tmp_path)
    data, labels = cifar_arrays(seed=1)
    assert x.shape == (20, 3, 32, 32) and y[:10].tolist() == labels
    np.testing.assert_array_equal(x[:10].reshape(10, -1), data)
    d = load_data(spec(dataset="cifar10", family="cnn", data_root=str(tmp_path)), CPU)
    assert d.input_shape == (3, 32, 32) and d.n_classes == 10


def test_cifar10_python_batch_as_distributed_by_python2_loads(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    data, labels = cifar_arrays()
    (folder / "data_batch_1").write_bytes(python2_cifar_pickle(data, labels))
    x, y = formats.load_cifar10(tmp_path)
    np.testing.assert_array_equal(x.reshape(10, -1), data)
    assert y.tolist() == labels


class _Payload:
    def __reduce__(self):
        return print, ("this must never run",)


def test_cifar_pickle_with_foreign_class_is_refused(tmp_path, capsys):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    data, labels = cifar_arrays()
    blob = pickle.dumps({b"data": data, b"labels": labels, b"x": _Payload()}, protocol=2)
    (folder / "data_batch_1").write_bytes(blob)
    with pytest.raises(DataError, match=r"refusing to load (__builtin__|builtins)\.print") as e:
        formats.load_cifar10(tmp_path)
    assert str(folder / "data_batch_1") in e.value.message
    assert "never run" not in capsys.readouterr().out


def test_missing_cifar_names_both_layouts(tmp_path):
    with pytest.raises(DataError) as e:
        formats.load_cifar10(tmp_path)
    assert str(tmp_path / "cifar-10-batches-bin" / "data_batch_1.bin") in e.value.message
    assert str(tmp_path / "cifar-10-batches-py" / "data_batch_1") in e.value.message


def test_cifar_binary_of_the_wrong_size_is_malformed(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    (folder / "data_batch_1.bin").write_bytes(bytes(3073 * 2 + 5))
    with pytest.raises(DataError, match="3073-byte"):
        formats.load_cifar10(tmp_path)


# ---------------------------------------------------------------------------- npz


def test_npz_integer_labels_classify_and_float_labels_regress(tmp_path):
    x = np.random.default_rng(0).normal(size=(30, 2, 5, 5)).astype(np.float32)
    np.savez(tmp_path / "cls.npz", x=x, y=np.arange(30) % 4)
    np.savez(tmp_path / "reg.npz", x=x, y=np.linspace(0, 1, 30))
    d = load_data(spec(dataset="npz", npz_file="cls.npz", data_root=str(tmp_path)), CPU)
    assert (d.task, d.n_classes, d.input_shape) == ("classification", 4, (2, 5, 5))
    d = load_data(spec(dataset="npz", npz_file="reg.npz", data_root=str(tmp_path)), CPU)
    assert (d.task, d.n_classes, d.y_train.shape[1]) == ("regression", 1, 1)
    assert d.y_train.dtype == torch.float32


def test_missing_npz_names_the_npz_file(tmp_path):
    with pytest.raises(DataError) as e:
        load_data(spec(dataset="npz", npz_file="nope.npz", data_root=str(tmp_path)), CPU)
    assert e.value.field == "npz_file" and str(tmp_path / "nope.npz") in e.value.message


# ---------------------------------------------------------------------------- split


def test_split_is_deterministic_for_a_seed(data_root):
    a, b = (load_data(spec(dataset="mnist", data_root=str(data_root)), CPU) for _ in "ab")
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_val, b.y_val)
    c = load_data(spec(dataset="mnist", data_root=str(data_root), seed=1), CPU)
    assert not torch.equal(a.y_train, c.y_train)


def test_synthetic_data_is_independent_of_seed_but_split_is_not():
    s0, s1 = spec(seed=0), spec(seed=1)
    for a, b in zip(DATASETS["synthetic"](s0)[:2], DATASETS["synthetic"](s1)[:2], strict=True):
        np.testing.assert_array_equal(a, b)
    assert not torch.equal(load_data(s0, CPU).y_train, load_data(s1, CPU).y_train)


@pytest.mark.parametrize(
    ("family", "shape"),
    [
        ("mlp", (32,)),
        ("cnn", (3, 16, 16)),
        ("cnn3d", (1, 8, 8, 8)),
    ],
)
def test_synthetic_sample_shape_follows_the_family(family, shape):
    d = load_data(spec(family=family, synthetic_image_size=shape[-1]), CPU)
    assert d.input_shape == shape and d.x_train.shape[1:] == shape


def test_synthetic_difficulty_moves_from_separated_to_noise():
    def nearest_mean_accuracy(difficulty):
        d = load_data(
            spec(synthetic_samples=1000, synthetic_classes=4, synthetic_difficulty=difficulty), CPU
        )
        means = torch.stack([d.x_train[d.y_train == k].mean(0) for k in range(4)])
        return (torch.cdist(d.x_val, means).argmin(1) == d.y_val).float().mean().item()

    assert nearest_mean_accuracy(0.0) > 0.8 > 0.4 > nearest_mean_accuracy(1.0)


def test_train_size_subsamples():
    full = load_data(spec(synthetic_samples=200), CPU)
    sub = load_data(spec(synthetic_samples=200, train_size=50), CPU)
    assert len(sub.x_train) == 50 and len(sub.x_val) == len(full.x_val) == 40
    assert torch.equal(sub.y_train, full.y_train[:50])
    with pytest.raises(DataError, match="only 160 training samples") as e:
        load_data(spec(synthetic_samples=200, train_size=161), CPU)
    assert e.value.field == "train_size"


def test_a_test_split_is_carved_from_training_and_validation_stays_as_it_was():
    plain = load_data(spec(synthetic_samples=200), CPU)
    held = load_data(spec(synthetic_samples=200, test_fraction=0.25), CPU)
    assert plain.x_test is None
    assert len(held.x_test) == 50 and len(held.x_train) == 110
    assert torch.equal(held.y_val, plain.y_val)  # the same validation samples
    everything = torch.cat([held.y_train, held.y_val, held.y_test])
    assert sorted(everything.tolist()) == sorted(torch.cat([plain.y_train, plain.y_val]).tolist())


def test_batch_size_above_the_train_split_is_refused(data_root):
    with pytest.raises(DataError) as e:
        load_data(spec(dataset="npz", data_root=str(data_root), batch_size=33), CPU)
    assert e.value.field == "batch_size" and "32 training samples" in e.value.message


def test_conv_family_needs_image_shaped_samples(data_root):
    with pytest.raises(DataError) as e:
        load_data(spec(dataset="npz", family="cnn", data_root=str(data_root)), CPU)
    assert e.value.field == "family"


@pytest.mark.parametrize(
    ("shape", "family", "per"),
    [((5,), "mlp", "feature"), ((3, 4, 4), "cnn", "channel"), ((3, 4, 4), "mlp", "feature")],
)
def test_standardized_with_train_statistics(tmp_path, shape, family, per):
    """Per channel for a CNN's images; per feature for flat data and for an MLP, which reads
    images as flat vectors (digits were once standardized with one global mean and std).
    Validation uses the train mean and std."""
    raw = np.random.default_rng(0).normal(5, 3, (50, shape[0], int(np.prod(shape[1:]))))
    raw *= np.arange(1, shape[0] + 1)[:, None]  # a different scale per channel
    raw += np.arange(raw.shape[2])  # and a different mean per pixel
    np.savez(tmp_path / "d.npz", x=raw.reshape(50, *shape), y=np.arange(50))  # y = row index
    d = load_data(spec(dataset="npz", npz_file="d.npz", data_root=str(tmp_path), family=family,
                       depth=1), CPU)  # fmt: skip
    train = raw[d.y_train.numpy()]
    axes = (0,) if per == "feature" else (0, 2)
    mean, std = train.mean(axis=axes, keepdims=True), train.std(axis=axes, keepdims=True)
    for x, y in ((d.x_train, d.y_train), (d.x_val, d.y_val)):
        expected = ((raw[y.numpy()] - mean) / std).reshape(len(y), *shape)
        np.testing.assert_allclose(x.numpy(), expected, atol=1e-4)


def test_regression_targets_are_standardized_like_the_inputs(tmp_path):
    y = np.random.default_rng(0).normal(100, 20, 60)
    np.savez(tmp_path / "r.npz", x=y[:, None], y=y)  # x == y, so both standardize alike
    d = load_data(spec(dataset="npz", npz_file="r.npz", data_root=str(tmp_path)), CPU)
    assert abs(d.y_train.mean().item()) < 1e-5
    torch.testing.assert_close(d.y_train, d.x_train)
    torch.testing.assert_close(d.y_val, d.x_val)


def test_registry_matches_the_spec_choices():
    choices = typing.get_args(BenchSpec.model_fields["dataset"].annotation)
    assert set(DATASETS) == set(choices)


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_registered_dataset_loads(data_root, name):
    d = load_data(spec(dataset=name, data_root=str(data_root)), CPU)
    assert d.name == name and d.x_train.dtype == torch.float32
    assert d.x_train.shape[1:] == d.x_val.shape[1:] == d.input_shape
    assert len(d.x_train) == len(d.y_train) >= 8 and len(d.x_val) == len(d.y_val) >= 1
    if d.task == "classification":
        assert d.y_train.dtype == torch.int64 and d.n_classes >= 2
        assert int(d.y_train.max()) < d.n_classes
    else:
        assert d.y_train.shape == (len(d.x_train), 1) and d.n_classes == 1
