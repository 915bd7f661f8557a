"""Worker processes as chaos tests see them: a `bnbench worker` supervisor, its Celery main
processes, and their pool children, found by pid so a test can kill any one of them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys

from core.store.workers import list_workers
from tests.services import wait_until


def children_of(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def pool_child(worker_pid: int) -> int | None:
    """The prefork child that runs jobs (a worker's other children are helpers)."""
    return next((p for p in children_of(worker_pid) if b"spawn_main" in cmdline(p)), None)


def worker_pids(supervisor_pid: int) -> list[int]:
    """The Celery main processes a `bnbench worker` supervisor runs."""
    return [p for p in children_of(supervisor_pid) if b"celery" in cmdline(p)]


@contextlib.contextmanager
def supervised_workers(log_dir, cpu_workers: int):
    """`bnbench worker --cpu-workers N` with this process's environment, until the block ends."""
    cmd = [sys.executable, "-c", "from cli import main; main()", "worker", "--gpus", "none",
           "--cpu-workers", str(cpu_workers), "--log-dir", str(log_dir)]  # fmt: skip
    proc = subprocess.Popen(
        cmd, env={**os.environ, "BNBENCH_STOP_GRACE_S": "5"}, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until(lambda: len(list_workers()) >= cpu_workers, 90, "the workers to register")
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
