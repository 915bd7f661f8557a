"""Tiny files in the real on-disk formats of MNIST, CIFAR-10 and npz, for tests."""

from __future__ import annotations

import gzip
import pickle
import struct

import numpy as np

IDX_CODES = {np.uint8: 0x08, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D}


def write_idx(path, arr, gz=False):
    arr = np.asarray(arr)
    header = bytes([0, 0, IDX_CODES[arr.dtype.type], arr.ndim])
    dims = np.array(arr.shape, ">u4").tobytes()
    payload = header + dims + arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(payload) if gz else payload)
    return path


def write_mnist(folder, n=40, gz=False, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    y = (np.arange(n) % 10).astype(np.uint8)
    suffix = ".gz" if gz else ""
    write_idx(folder / f"train-images-idx3-ubyte{suffix}", x, gz)
    write_idx(folder / f"train-labels-idx1-ubyte{suffix}", y, gz)
    return x, y


def cifar_arrays(n=10, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 3072), dtype=np.uint8), [i % 10 for i in range(n)]


def write_cifar_bin(folder, batches=2, n=10):
    folder.mkdir(parents=True, exist_ok=True)
    for b in range(1, batches + 1):
        data, labels = cifar_arrays(n, seed=b)
        records = np.concatenate([np.array(labels, np.uint8)[:, None], data], axis=1)
        (folder / f"data_batch_{b}.bin").write_bytes(records.tobytes())


def write_cifar_py(folder, batches=2, n=10, protocol=2):
    folder.mkdir(parents=True, exist_ok=True)
    for b in range(1, batches + 1):
        data, labels = cifar_arrays(n, seed=b)
        blob = pickle.dumps({b"batch_label": b"x", b"labels": labels, b"data": data}, protocol)
        (folder / f"data_batch_{b}").write_bytes(blob)


def python2_cifar_pickle(data, labels):
    """The opcodes Python 2 and numpy 1.x wrote for the official batches.

    Python 3 cannot produce them: py2 str is SHORT_BINSTRING (U), the array bytes are a
    BINSTRING (T) and numpy lives at numpy.core.
    """
    raw = data.tobytes()
    n = len(data)
    return (
        b"\x80\x02}(U\x04data"
        b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R"
        b"(K\x01M" + struct.pack("<H", n) + b"M\x00\x0c\x86cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R"
        b"(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89T"
        + struct.pack("<I", len(raw))
        + raw
        + b"tbU\x06labels]("
        + b"".join(b"K" + bytes([k]) for k in labels)
        + b"eu."
    )


def write_every_format(root):
    """A data_root holding every file format, in the layouts people actually have."""
    write_mnist(root / "mnist")
    write_mnist(root / "FashionMNIST" / "raw", gz=True, seed=1)  # torchvision's layout
    write_cifar_bin(root / "cifar-10-batches-bin")
    rng = np.random.default_rng(0)
    np.savez(root / "data.npz", x=rng.normal(size=(40, 6)), y=np.arange(40) % 3)
    return root
