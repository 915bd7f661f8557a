"""The worker registry: which workers consume which queues, on what GPU, and whether they
still beat. A worker is live while its heartbeat is younger than BNBENCH_STALE_AFTER_S."""

from __future__ import annotations

import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update

from core.store.db import rows_changed, session_scope
from core.store.tables import Worker, utcnow


@dataclass(frozen=True)
class WorkerRecord:
    """One row of the workers table, as read at one moment."""

    name: str
    host: str
    gpu_model: str | None
    queues: tuple[str, ...]
    started_at: datetime
    heartbeat_at: datetime
    current_job_id: str | None
    memory_mb: int | None

    def heartbeat_age_s(self, now: datetime | None = None) -> float:
        return ((now or utcnow()) - self.heartbeat_at).total_seconds()

    def is_live(self, stale_after_s: float, now: datetime | None = None) -> bool:
        """It beat within stale_after_s (BNBENCH_STALE_AFTER_S) before `now`."""
        return self.heartbeat_age_s(now) <= stale_after_s


def register_worker(
    name: str,
    queues: list[str],
    gpu_model: str | None,
    url: str | None = None,
    memory_mb: int | None = None,
) -> None:
    now = utcnow()
    with session_scope(url) as s:
        row = s.get(Worker, name)
        if row is None:
            s.add(
                Worker(
                    name=name,
                    host=socket.gethostname(),
                    gpu_model=gpu_model,
                    queues=queues,
                    started_at=now,
                    heartbeat_at=now,
                    memory_mb=memory_mb,
                )
            )
        else:
            row.host, row.gpu_model, row.queues = socket.gethostname(), gpu_model, queues
            row.started_at = row.heartbeat_at = now
            row.current_job_id = None
            row.memory_mb = memory_mb


def worker_heartbeat(name: str, url: str | None = None) -> bool:
    """False when the worker's row is gone (deleted by hand, or by a namesake that stopped):
    the caller registers again."""
    with session_scope(url) as s:
        res = rows_changed(
            s, update(Worker).where(Worker.name == name).values(heartbeat_at=utcnow())
        )
        return res > 0


def release_worker(worker: str, url: str | None = None) -> None:
    """The worker runs no job now."""
    with session_scope(url) as s:
        s.execute(update(Worker).where(Worker.name == worker).values(current_job_id=None))


def unregister_worker(name: str, url: str | None = None) -> None:
    with session_scope(url) as s:
        s.execute(delete(Worker).where(Worker.name == name))


def list_workers(url: str | None = None) -> list[WorkerRecord]:
    with session_scope(url, readonly=True) as s:
        return [
            WorkerRecord(
                name=w.name,
                host=w.host,
                gpu_model=w.gpu_model,
                queues=tuple(w.queues or ()),
                started_at=w.started_at,
                heartbeat_at=w.heartbeat_at,
                current_job_id=w.current_job_id,
                memory_mb=w.memory_mb,
            )
            for w in s.scalars(select(Worker).order_by(Worker.name))
        ]


def live_workers(stale_after_s: float, url: str | None = None) -> list[WorkerRecord]:
    """The workers that beat within stale_after_s (BNBENCH_STALE_AFTER_S)."""
    now = utcnow()
    return [w for w in list_workers(url) if w.is_live(stale_after_s, now)]


def queue_memory_mb(queue: str, stale_after_s: float, url: str | None = None) -> int | None:
    """The largest memory budget among the live workers that consume `queue`; None when no
    live worker of it states one."""
    budgets = [
        w.memory_mb
        for w in live_workers(stale_after_s, url)
        if queue in w.queues and w.memory_mb is not None
    ]
    return max(budgets, default=None)


def unserved_queues(
    queues: Iterable[str], stale_after_s: float, url: str | None = None
) -> list[str]:
    """Those of `queues` that no live worker consumes; their jobs wait until one does.
    "local" is left out: the CLI process that queued such a job runs it."""
    served = {q for w in live_workers(stale_after_s, url) for q in w.queues}
    return sorted(q for q in set(queues) if q != "local" and q not in served)


def unserved_message(queue: str) -> str:
    return (
        f"no live worker consumes queue {queue}: its jobs stay queued until one does. "
        f"`bnbench workers` lists the fleet; `bnbench worker --queues {queue}` starts one"
        + (" (on a machine with that GPU)" if queue.startswith("gpu.") else "")
    )
