"""Where a number came from: hardware, software, code version and the device used."""

from __future__ import annotations

import functools
import os
import platform
import socket
import subprocess
from pathlib import Path

import torch

import core
from core.config import simulated_gpu_model
from core.engine.result import Provenance


@functools.cache
def git_sha() -> str | None:
    """The sha of the bnbench checkout, or BNBENCH_GIT_SHA for installed copies."""
    if sha := os.environ.get("BNBENCH_GIT_SHA"):
        return sha
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


@functools.cache
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _nvidia_driver() -> str | None:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip().splitlines()[0] if out.stdout.strip() else None


def collect(device: torch.device) -> Provenance:
    gpu_name = gpu_mem = driver = None
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        gpu_name, gpu_mem = props.name, props.total_memory // 2**20
        driver = _nvidia_driver()
    else:
        gpu_name = simulated_gpu_model()
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return Provenance(
        torch=torch.__version__,
        cuda=torch.version.cuda,
        cudnn=cudnn,
        gpu_name=gpu_name,
        gpu_driver=driver,
        gpu_memory_mb=gpu_mem,
        cpu_model=cpu_model(),
        threads=torch.get_num_threads(),
        python=platform.python_version(),
        hostname=socket.gethostname(),
        bnbench_version=core.__version__,
        git_sha=git_sha(),
        device=str(device),
    )
