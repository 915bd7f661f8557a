"""`bnbench worker`: one Celery worker process per GPU (or CPU workers), supervised.

Each worker is `celery worker` with a prefork pool of one child started by spawn: time limits
and terminate work, and CUDA is only initialized in that child, never in a forked parent.
A GPU worker sees only its GPU through CUDA_VISIBLE_DEVICES; a CPU worker sees none.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from core.config import bnbench_home
from worker.queues import worker_queues

log = logging.getLogger("bnbench.launcher")
RESTART_BACKOFF_S = (1, 2, 5, 10, 30)


@dataclass
class WorkerProcess:
    name: str
    queues: list[str]
    env: dict[str, str]
    gpu: str | None = None
    proc: subprocess.Popen | None = None
    restarts: int = 0
    started: float = field(default=0.0)
    lock: IO[Any] | None = None

    def claim_name(self, directory: Path) -> None:
        """Take the first free name of name, name-2, name-3, ... on this host, held by a lock
        file for as long as this process lives: a second `bnbench worker` or `bnbench up` on
        the host must not share the first one's row in the workers table, or its spool."""
        import fcntl

        directory.mkdir(parents=True, exist_ok=True)
        host = socket.gethostname()
        for k in range(1, 100):
            name = self.name if k == 1 else f"{self.name}-{k}"
            f = open(directory / f"{name}@{host}.lock", "a")  # noqa: SIM115  (held, not closed)
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                f.close()
                continue
            self.name, self.lock = name, f
            return
        raise RuntimeError(f"99 workers named {self.name} already run on {host}")

    def command(self, loglevel: str) -> list[str]:
        cmd = [
            sys.executable, "-m", "celery", "-A", "worker.app", "worker",
            "--pool", "prefork", "--concurrency", "1", "--pool-start-method", "spawn",
            "--queues", ",".join(self.queues), "--hostname", f"{self.name}@{socket.gethostname()}",
            "--loglevel", loglevel, "--without-gossip", "--without-mingle",
        ]  # fmt: skip
        if self.env.get("BNBENCH_LOG_FORMAT", "").lower() == "json":
            cmd.insert(3, "--quiet")  # Celery's banner is no log record; JSON lines stay parseable
        return cmd

    def start(self, loglevel: str, log_dir: str | None) -> None:
        out = None
        if log_dir:
            os.makedirs(log_dir, exist_ok=True)
            out = open(os.path.join(log_dir, f"{self.name}.log"), "ab")  # noqa: SIM115
        # A session of its own: stopping or killing a worker takes its pool child with it.
        self.proc = subprocess.Popen(
            self.command(loglevel),
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,
        )
        self.started = time.monotonic()


def detect_gpus() -> list[tuple[int, str]]:
    """(index, name) of the visible NVIDIA GPUs, from nvidia-smi so CUDA stays uninitialized."""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=index,name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.strip().splitlines():
        idx, _, name = line.partition(",")
        gpus.append((int(idx), name.strip()))
    return gpus


def plan_workers(
    gpus: str,
    cpu_workers: int | None,
    queues: list[str] | None,
    base_env: dict[str, str] | None = None,
) -> list[WorkerProcess]:
    """The worker processes to run for --gpus (all, none, or 0,1) and --cpu-workers."""
    env = dict(base_env if base_env is not None else os.environ)
    found = detect_gpus()
    if gpus == "none":
        chosen: list[tuple[int, str]] = []
    elif gpus == "all":
        chosen = found
    else:
        wanted = {int(x) for x in gpus.split(",") if x.strip()}
        known = {i for i, _ in found}
        if missing := wanted - known:
            raise ValueError(
                f"--gpus: no GPU {sorted(missing)} here; visible: {sorted(known) or 'none'}"
            )
        chosen = [g for g in found if g[0] in wanted]
    plan = []
    for idx, name in chosen:
        plan.append(
            WorkerProcess(
                name=f"gpu{idx}",
                queues=queues or worker_queues(name),
                gpu=name,
                env={**env, "CUDA_VISIBLE_DEVICES": str(idx), "BNBENCH_WORKER_GPU": name},
            )
        )
    n_cpu = cpu_workers if cpu_workers is not None else (0 if chosen else 1)
    # CPU workers share the cores: oversubscribed torch thread pools spin against each other.
    threads = env.get("OMP_NUM_THREADS") or str(max(1, (os.cpu_count() or 1) // max(n_cpu, 1)))
    for i in range(n_cpu):
        plan.append(
            WorkerProcess(
                name=f"cpu{i}",
                queues=queues or worker_queues(None),
                env={
                    **env,
                    "CUDA_VISIBLE_DEVICES": "",
                    "BNBENCH_WORKER_GPU": "",
                    "OMP_NUM_THREADS": threads,
                },
            )
        )
    return plan


@contextlib.contextmanager
def _signals_ignored():
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stopping = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in stopping}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def stop_on_signals() -> None:
    """SIGTERM and SIGHUP (the terminal closed, the SSH session dropped) stop like Ctrl-C.
    The workers run in sessions of their own, so a hangup reaches only this process, whose
    default would be to die at once and leave them running."""

    def _stop(*_):
        raise KeyboardInterrupt

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _stop)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


class Supervisor:
    """Starts the workers, restarts one that dies, and stops them all on SIGINT, SIGTERM or
    SIGHUP."""

    def __init__(
        self,
        workers: list[WorkerProcess],
        loglevel: str = "info",
        log_dir: str | None = None,
        grace_s: float = 90.0,
    ):
        self.workers, self.loglevel, self.log_dir = workers, loglevel, log_dir
        self.grace_s = grace_s
        self.stopping = False
        self.stopped = False

    def claim_names(self) -> None:
        """Unique names on this host (WorkerProcess.claim_name), before they are shown."""
        for w in self.workers:
            if w.lock is None:
                w.claim_name(bnbench_home() / "workers")

    def start(self) -> None:
        self.claim_names()
        for w in self.workers:
            w.start(self.loglevel, self.log_dir)

    def poll(self) -> None:
        """Restart workers that exited, with backoff."""
        for w in self.workers:
            if self.stopping or w.proc is None or w.proc.poll() is None:
                continue
            wait = RESTART_BACKOFF_S[min(w.restarts, len(RESTART_BACKOFF_S) - 1)]
            if time.monotonic() - w.started < wait:
                continue
            log.warning("worker %s exited with %s; restarting", w.name, w.proc.returncode)
            # A dead main process can leave its pool child running a job on the same device.
            _kill_group(w.proc.pid)
            w.restarts += 1
            w.start(self.loglevel, self.log_dir)

    def stop(self, grace_s: float | None = None) -> None:
        """Warm shutdown: each Celery main process stops taking jobs and lets the running one
        finish (its pool child must not get the signal: Celery's children die on SIGTERM);
        after `grace_s`, or a second Ctrl-C, whatever is left is killed and the job is
        re-sent by the reconciler."""
        if self.stopped:
            return
        grace_s = self.grace_s if grace_s is None else grace_s
        self.stopping = True
        alive = [w for w in self.workers if w.proc and w.proc.poll() is None]
        for w in alive:
            os.kill(w.proc.pid, signal.SIGTERM)
        if alive:
            log.warning("waiting up to %.0f s for running jobs; Ctrl-C again stops now", grace_s)
        deadline = time.monotonic() + grace_s
        try:
            for w in alive:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    w.proc.wait(max(deadline - time.monotonic(), 0.1))
        except KeyboardInterrupt:
            pass
        finally:
            with _signals_ignored():  # a third Ctrl-C must not leave workers running
                for w in self.workers:
                    if w.proc is not None:
                        _kill_group(w.proc.pid)  # the pool child too
                        w.proc.wait()
            self.stopped = True

    def run_forever(self) -> None:
        stop_on_signals()
        try:
            while True:
                self.poll()
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()
