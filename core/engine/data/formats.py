"""Readers for the standard on-disk dataset formats; each returns numpy arrays.

Nothing here downloads. A missing or malformed file raises DataError naming the
paths involved and how to fix them.
"""

from __future__ import annotations

import gzip
import io
import pickle
import zlib
from pathlib import Path

import numpy as np

from core.errors import FieldError


class DataError(FieldError):
    """Data that cannot be loaded as specified; `field` names the spec field to change."""


def _root(data_root: str | Path) -> Path:
    return Path(data_root).expanduser().absolute()


def _read_bytes(path: Path, field: str) -> bytes:
    try:
        raw = path.read_bytes()
        # Sniff the gzip magic rather than trust the suffix: renamed files are common.
        return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(field, f"cannot read {path}: {e}") from e


# ---------------------------------------------------------------------------- IDX

_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path, field: str = "data_root") -> np.ndarray:
    """Read an IDX file (MNIST's format), plain or gzipped, into a native-endian array."""
    path = Path(path)
    buf = _read_bytes(path, field)
    if len(buf) < 4 or buf[0] != 0 or buf[1] != 0 or buf[2] not in _IDX_DTYPES:
        raise DataError(field, f"{path} is not an IDX file (bad magic number {buf[:4].hex()})")
    ndim = buf[3]
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise DataError(field, f"{path} is truncated inside its IDX header")
    dims = tuple(int(d) for d in np.frombuffer(buf, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[buf[2]])
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(buf) != expected:
        raise DataError(
            field,
            f"{path} has {len(buf)} bytes but its header {list(dims)} implies {expected} "
            "(truncated or corrupt); download it again",
        )
    arr = np.frombuffer(buf, dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=False)


def _find(dirs: list[Path], name: str) -> tuple[Path | None, list[Path]]:
    tried = [d / (name + suffix) for d in dirs for suffix in ("", ".gz")]
    return next((p for p in tried if p.is_file()), None), tried


def _load_idx_pair(data_root: str | Path, subdirs: tuple[str, ...]) -> tuple[np.ndarray, ...]:
    root = _root(data_root)
    dirs = [root / s for s in subdirs]
    images_name, labels_name = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
    images_path, tried = _find(dirs, images_name)
    if images_path is None:
        raise DataError(
            "data_root",
            f"no {images_name}(.gz) found; tried {', '.join(map(str, tried))}. Put "
            f"{images_name}(.gz) and {labels_name}(.gz) in {dirs[0]} or set data_root",
        )
    # Labels must sit beside the images: mixing files from two folders could pair wrongly.
    labels_path, tried = _find([images_path.parent], labels_name)
    if labels_path is None:
        raise DataError(
            "data_root",
            f"found {images_path} but no labels; tried {', '.join(map(str, tried))}. "
            f"Put {labels_name}(.gz) beside the images",
        )
    x, y = read_idx(images_path), read_idx(labels_path)
    if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
        raise DataError(
            "data_root",
            f"{images_path} {list(x.shape)} and {labels_path} {list(y.shape)} "
            "do not pair as N images with N labels",
        )
    return x[:, None], y.astype(np.int64)


def load_mnist(data_root: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """MNIST train images (N, 1, 28, 28) uint8 and labels, from mnist/ or MNIST/raw/."""
    return _load_idx_pair(data_root, ("mnist", "MNIST/raw"))


def load_fashion_mnist(data_root: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST train images and labels, from fashion_mnist/ or FashionMNIST/raw/."""
    return _load_idx_pair(data_root, ("fashion_mnist", "FashionMNIST/raw"))


# ---------------------------------------------------------------------------- CIFAR-10


def _numpy_globals() -> dict[tuple[str, str], object]:
    try:
        from numpy._core import multiarray, numeric
    except ImportError:  # numpy < 2
        from numpy.core import multiarray, numeric
    out: dict[tuple[str, str], object] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        # Protocol-2 pickles written by Python 3 carry the array bytes through it.
        ("_codecs", "encode"): __import__("_codecs").encode,
    }
    # Files pickled before numpy 2 name numpy.core, newer ones numpy._core.
    for pkg in ("numpy.core", "numpy._core"):
        out[(f"{pkg}.multiarray", "_reconstruct")] = multiarray._reconstruct
        out[(f"{pkg}.multiarray", "scalar")] = multiarray.scalar
        out[(f"{pkg}.numeric", "_frombuffer")] = numeric._frombuffer
    return out


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists and numpy arrays only; any other global is refused.

    A pickle can call any importable function while loading, so a downloaded batch
    file must not be trusted with plain pickle.load.
    """

    _allowed = _numpy_globals()

    def find_class(self, module: str, name: str) -> object:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: only numpy arrays are allowed in a "
                "CIFAR batch file"
            ) from None


def _cifar_bin(path: Path) -> tuple[np.ndarray, np.ndarray]:
    buf = _read_bytes(path, "data_root")
    if not buf or len(buf) % 3073:
        raise DataError(
            "data_root",
            f"{path} has {len(buf)} bytes, not a multiple of the 3073-byte "
            "CIFAR-10 record (1 label + 3072 pixels); download it again",
        )
    rec = np.frombuffer(buf, np.uint8).reshape(-1, 3073)
    return rec[:, 1:].reshape(-1, 3, 32, 32), rec[:, 0].astype(np.int64)


def _cifar_py(path: Path) -> tuple[np.ndarray, np.ndarray]:
    buf = _read_bytes(path, "data_root")
    try:
        # encoding="bytes": the official batches were pickled by Python 2.
        d = NumpyOnlyUnpickler(io.BytesIO(buf), encoding="bytes").load()
    except Exception as e:
        raise DataError("data_root", f"cannot unpickle {path}: {e}") from e
    if not isinstance(d, dict):
        raise DataError("data_root", f"{path} holds a {type(d).__name__}, not a CIFAR batch dict")
    d = {k.decode() if isinstance(k, bytes) else k: v for k, v in d.items()}
    data, labels = d.get("data"), d.get("labels")
    if not isinstance(data, np.ndarray) or labels is None:
        raise DataError("data_root", f"{path} lacks the 'data' array or the 'labels' list")
    labels = np.asarray(labels)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise DataError(
            "data_root",
            f"{path}: data is {data.dtype} {list(data.shape)}, expected uint8 (N, 3072)",
        )
    if labels.shape != (len(data),) or labels.dtype.kind not in "iu":
        raise DataError(
            "data_root", f"{path}: labels {list(labels.shape)} do not match {len(data)} images"
        )
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def load_cifar10(data_root: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 train images (N, 3, 32, 32) uint8 and labels, binary or python version."""
    root = _root(data_root)
    layouts = (
        ("cifar-10-batches-bin", "data_batch_{}.bin", _cifar_bin),
        ("cifar-10-batches-py", "data_batch_{}", _cifar_py),
    )
    tried = []
    for folder, pattern, reader in layouts:
        paths = [root / folder / pattern.format(i) for i in range(1, 6)]
        tried.append(paths[0])
        if not paths[0].is_file():
            continue
        parts = [reader(p) for p in paths if p.is_file()]
        x = np.concatenate([p[0] for p in parts])
        y = np.concatenate([p[1] for p in parts])
        if y.size and (y.min() < 0 or y.max() > 9):
            raise DataError(
                "data_root",
                f"labels in {root / folder} fall outside 0..9; these are not CIFAR-10 batches",
            )
        return x, y
    raise DataError(
        "data_root",
        f"no CIFAR-10 batches found; tried {', '.join(map(str, tried))}. Extract "
        "cifar-10-binary.tar.gz or cifar-10-python.tar.gz into data_root or set data_root",
    )


# ---------------------------------------------------------------------------- npz


def load_npz(data_root: str | Path, npz_file: str) -> tuple[np.ndarray, np.ndarray]:
    """Arrays `x` and `y` of data_root/npz_file; object arrays are refused (no pickle)."""
    path = _root(data_root) / npz_file
    if not path.is_file():
        raise DataError(
            "npz_file",
            f"{path} not found; save one with np.savez(path, x=..., y=...) or fix "
            "npz_file / data_root",
        )
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise DataError(
                "npz_file",
                f"{path} holds one array, not an npz with x and y; "
                "save with np.savez(path, x=..., y=...)",
            )
        with loaded as z:
            missing = [k for k in ("x", "y") if k not in z.files]
            if missing:
                raise DataError(
                    "npz_file",
                    f"{path} has arrays {z.files} but lacks {missing}; "
                    "save with np.savez(path, x=..., y=...)",
                )
            return z["x"], z["y"]
    except DataError:
        raise
    except Exception as e:
        raise DataError("npz_file", f"cannot read {path}: {e}") from e
