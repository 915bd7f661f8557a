"""The submit API: write the job row (queued), then send (job id, spec) to its queue.

The database is the source of truth; the message carries only the job id and the spec JSON.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from core.db import session_scope
from core.dbmodels import Job
from core.lifecycle import (
    Dispatch,
    mark_dispatched,
    prepare_retry,
    queue_memory_mb,
    request_cancel,
)
from core.limits import Limits
from core.migrate import ensure_schema
from core.spec import BenchSpec
from core.spec_io import validate_spec
from core.store import new_job
from worker.queues import queue_for
from worker.settings import Settings

_APP = None


def get_app():
    """A client app for the broker in the environment (rebuilt if BNBENCH_BROKER_URL moved)."""
    global _APP
    url = Settings.from_env().broker_url
    if _APP is None or _APP.conf.broker_url != url:
        from worker.app import create_app

        _APP = create_app()
    return _APP


def send(d: Dispatch) -> None:
    """Publish one task message by name: any Celery client could send the same."""
    from worker.app import TASK_NAME

    get_app().send_task(
        TASK_NAME,
        kwargs={"spec": d.spec, "job_id": d.job_id},
        queue=d.queue,
        priority=d.priority,
        task_id=d.task_id,
    )


def find_reusable(spec: BenchSpec, queue: str, url: str | None = None) -> str | None:
    """A succeeded job with the same spec hash on the same device class, if any."""
    with session_scope(url, readonly=True) as s:
        return s.scalar(
            select(Job.id)
            .where(Job.spec_hash == spec.spec_hash(), Job.queue == queue, Job.status == "succeeded")
            .order_by(Job.finished_at.desc())
            .limit(1)
        )


def submit(
    spec: BenchSpec | dict,
    queue: str | None = None,
    priority: int | None = None,
    group: str | None = None,
    label: str | None = None,
    gpu_model: str | None = None,
    reuse: bool = False,
    url: str | None = None,
) -> str:
    """Validate, record the job as queued, and send it. Returns the job id.

    With reuse, an identical spec already run on the same device class returns that job.
    """
    if not isinstance(spec, BenchSpec):
        spec = validate_spec(spec)
    settings = Settings.from_env()
    q = queue_for(spec, queue, gpu_model, settings.default_queue)
    ensure_schema(url)
    submission_limits(q, url).check(spec)
    if reuse and (existing := find_reusable(spec, q, url)):
        return existing
    job = new_job(spec, queue=q, priority=priority or 0, group_id=group, label=label)
    with session_scope(url) as s:
        s.add(job)
    send(mark_dispatched(job.id, url))
    return job.id


def submission_limits(queue: str, url: str | None = None) -> Limits:
    """The deployment's limits for a job on `queue`. Without BNBENCH_MAX_MODEL_MB, the memory
    cap is the largest budget among the queue's live workers; with none known, the worker
    that takes the job checks it."""
    try:
        fleet = queue_memory_mb(queue, Settings.from_env().stale_after_s, url)
    except SQLAlchemyError:  # a database not created yet has no workers either
        fleet = None
    return Limits.from_env(default_model_mb=fleet)


def check_submittable(
    specs: list[BenchSpec],
    queue: str | None = None,
    gpu_model: str | None = None,
    url: str | None = None,
) -> None:
    """Raise SpecError, naming the field, for the first spec over a limit of its queue:
    a sweep or suite is checked whole before any of it is sent."""
    default = Settings.from_env().default_queue
    by_queue: dict[str, Limits] = {}
    for spec in specs:
        q = queue_for(spec, queue, gpu_model, default)
        if q not in by_queue:
            by_queue[q] = submission_limits(q, url)
        by_queue[q].check(spec)


def expand_grid(base: BenchSpec, grid: dict[str, list[Any]], repeats: int = 1) -> list[BenchSpec]:
    """Every combination of the grid's values, each repeated with seeds base.seed + r.

    Raises SpecError, naming the field, on the first invalid combination.
    """
    names = list(grid)
    specs = []
    for values in itertools.product(*(grid[n] for n in names)):
        for r in range(repeats):
            fields = {**base.model_dump(), **dict(zip(names, values, strict=True))}
            specs.append(validate_spec({**fields, "seed": base.seed + r}))
    return specs


def submit_grid(
    base: BenchSpec,
    grid: dict[str, list[Any]],
    repeats: int = 1,
    group: str | None = None,
    **kw: Any,
) -> tuple[str, list[str]]:
    """Submit a sweep as one group. Every spec is validated before anything is sent."""
    specs = expand_grid(base, grid, repeats)
    check_submittable(specs, kw.get("queue"), kw.get("gpu_model"), kw.get("url"))
    group = group or f"sweep-{uuid.uuid4().hex[:8]}"
    return group, [submit(s, group=group, **kw) for s in specs]


def cancel(job_id: str, url: str | None = None) -> str:
    """Cancel a queued job, or ask a running one to stop (terminated after a grace period)."""
    return request_cancel(job_id, url)


def retry(job_id: str, url: str | None = None) -> bool:
    """A new attempt of a failed or cancelled job; False if it is neither, or if its spec
    never validated (core.lifecycle.not_retryable says which)."""
    d = prepare_retry(job_id, url)
    if d is None:
        return False
    send(d)
    return True
