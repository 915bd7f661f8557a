"""The largest estimated footprint a worker accepts when BNBENCH_MAX_MODEL_MB is unset:
a share of its GPU's memory, or of the host's (the cgroup limit when one is set)."""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

from core.spec.limits import Limits

SHARE = 0.8  # the rest is the CUDA context, the allocator's slack and the worker itself
CGROUP_LIMITS = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")


def gpu_memory_mb() -> int | None:
    """Total memory of the GPU this worker owns, from nvidia-smi (CUDA stays uninitialized)."""
    index = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip()
    if not index or not os.environ.get("BNBENCH_WORKER_GPU"):
        return None
    try:
        query = ["--query-gpu=memory.total", "--format=csv,noheader,nounits"]
        out = subprocess.run(
            ["nvidia-smi", "-i", index, *query],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
        return int(float(out.strip().splitlines()[0]))
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def host_memory_mb() -> int | None:
    """MemTotal, or the cgroup's memory limit when that is lower."""
    found = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                found.append(int(line.split()[1]) // 1024)
    except (OSError, ValueError):
        pass
    for path in CGROUP_LIMITS:
        try:
            raw = Path(path).read_text().strip()
        except OSError:
            continue
        if raw.isdigit() and int(raw) < 1 << 60:  # "max" or a huge number means none
            found.append(int(raw) >> 20)
    return min(found) if found else None


def worker_limits() -> Limits:
    """The deployment's limits as this worker applies them: BNBENCH_MAX_MODEL_MB, or its own
    budget when that is unset."""
    return Limits.from_env(default_model_mb=worker_budget_mb())


@functools.cache
def worker_budget_mb() -> int | None:
    """SHARE of this worker's device memory, in MiB; None when it cannot be read."""
    total = gpu_memory_mb() or host_memory_mb()
    return int(total * SHARE) if total else None
