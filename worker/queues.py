"""Queues per device class, so timings are compared like with like: cpu, gpu, gpu.<model>."""

from __future__ import annotations

import re

from core.spec.schema import BenchSpec

_KNOWN = re.compile(r"\b(gh200|b200|h200|h100|a100|a10g|a10|l40s|l40|l4|v100|t4|rtx ?\d{4})\b")


def gpu_slug(name: str) -> str:
    """A short model name for queue routing: 'NVIDIA H100 80GB HBM3' -> 'h100'."""
    lowered = name.lower()
    if m := _KNOWN.search(lowered):
        return m.group(1).replace(" ", "")
    return re.sub(r"[^a-z0-9]+", "-", lowered.replace("nvidia", "")).strip("-") or "unknown"


def queue_for(
    spec: BenchSpec, queue: str | None = None, gpu_model: str | None = None, default: str = "cpu"
) -> str:
    """Explicit queue, else the GPU model's queue (from the call or the spec), else by device:
    cpu, gpu, or `default`."""
    if queue:
        return queue
    gpu_model = gpu_model or spec.gpu_model
    if gpu_model:
        return f"gpu.{gpu_slug(gpu_model)}"
    if spec.device == "cpu":
        return "cpu"
    if spec.device.startswith("cuda"):
        return "gpu"
    return default


def worker_queues(gpu_name: str | None) -> list[str]:
    """What a worker consumes: cpu workers 'cpu'; a GPU worker 'gpu' and 'gpu.<model>'."""
    if gpu_name is None:
        return ["cpu"]
    return ["gpu", f"gpu.{gpu_slug(gpu_name)}"]
