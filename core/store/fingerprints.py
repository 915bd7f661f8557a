"""A result's environment fingerprint: a hash of what changes its speed, and nothing else.

Two results with the same spec and fingerprint should time the same but for noise; the host
name, the git sha and the Python version are left out. A series (core.history) holds a spec
over time on one fingerprint, or on a relaxed one: with `torch` relaxed, the same spec across
torch versions on one GPU model.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from core.engine.result import Provenance

PARTS = ("gpu_name", "gpu_driver", "cuda", "cudnn", "torch", "cpu_model", "threads",
         "deterministic")  # fmt: skip
HARDWARE = ("gpu_name", "cpu_model")
SOFTWARE = tuple(p for p in PARTS if p not in HARDWARE)


def parts_of(p: Provenance, deterministic: bool) -> dict[str, Any]:
    """The fingerprint's parts: the provenance's, and the spec's deterministic mode."""
    return {
        "gpu_name": p.gpu_name, "gpu_driver": p.gpu_driver, "cuda": p.cuda, "cudnn": p.cudnn,
        "torch": p.torch, "cpu_model": p.cpu_model, "threads": p.threads,
        "deterministic": bool(deterministic),
    }  # fmt: skip


def fingerprint(parts: Mapping[str, Any], relax: Iterable[str] = ()) -> str:
    """16 hex digits of SHA-256 over the parts not relaxed. Migration 0017 holds a frozen
    copy that filled the column for results written before it: change neither alone."""
    dropped = set(relax)
    kept = {k: parts.get(k) for k in PARTS if k not in dropped}
    return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()[:16]
