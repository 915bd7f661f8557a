"""The client: write the job rows (queued), then send (job id, spec) to their queues.

The database is the source of truth; the message carries only the job id and the spec JSON.
A submission is all or nothing: every spec is checked and the broker PINGed before any row
is written, and the rows of a sweep are written in one transaction. If the broker stops
answering after that, the rows stay queued and a worker's reconciler sends them later.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from core.spec.limits import Limits
from core.spec.parse import SpecError, parse_override, validate_spec
from core.spec.schema import BenchSpec
from core.store.db import session_scope
from core.store.jobs import (
    Cancel,
    Dispatch,
    mark_dispatched,
    new_job,
    prepare_retry,
    request_cancel,
)
from core.store.migrate import ensure_schema
from core.store.tables import Job
from core.store.workers import queue_memory_mb, unserved_message, unserved_queues
from worker.doctor import FAIL, OK, check_broker
from worker.envelope import TASK_NAME
from worker.queues import queue_for
from worker.settings import Settings

_APP = None


def get_app():
    """A client app for the broker in the environment (rebuilt if BNBENCH_BROKER_URL moved)."""
    global _APP
    url = Settings.from_env().broker_url
    if _APP is None or _APP.conf.broker_url != url:
        # Loading worker.app builds its app from the settings: a bad one must surface here,
        # as the ConfigError a submission reports, not when this module loads.
        from worker.app import create_app  # lazy: see above

        _APP = create_app()
    return _APP


class BrokerUnavailable(RuntimeError):
    """No broker answers: nothing was recorded, so submitting again is safe."""


class NotSentYet(RuntimeError):
    """The jobs are recorded, but the broker stopped answering before all were sent; a
    worker's reconciler sends the rest when it is back, so they must not be submitted again."""

    def __init__(self, ids: list[str], unsent: list[str], reason: str, run_id: str = ""):
        self.ids, self.unsent, self.run_id = ids, unsent, run_id
        self.group: str | None = None  # submit_grid's group, once it is known
        super().__init__(
            f"{len(unsent)} of {len(ids)} jobs are recorded but not sent yet ({reason}); a "
            "worker's reconciler sends them once the broker answers: do not submit them again"
        )


def require_broker(unchanged: str = "Nothing was submitted.") -> None:
    """Raise BrokerUnavailable, saying what to start or set, when the broker does not PING."""
    settings = Settings.from_env()
    check = check_broker(settings)
    if check.status == FAIL or (settings.embedded and check.status != OK):
        detail = check.detail.rstrip(". ")
        raise BrokerUnavailable(f"no broker answers: {detail}. {check.fix} {unchanged}")


def send(d: Dispatch) -> None:
    """Publish one task message by name: any Celery client could send the same."""
    get_app().send_task(
        TASK_NAME,
        kwargs={"spec": d.spec, "job_id": d.job_id},
        queue=d.queue,
        priority=d.priority,
        task_id=d.task_id,
    )


def send_recorded(
    new_ids: list[str], ids: list[str] | None = None, run_id: str = "", url: str | None = None
) -> None:
    """Send jobs already recorded as queued; NotSentYet (naming `ids`, the whole submission)
    when the broker stops answering, the rest left for the reconciler."""
    for i, job_id in enumerate(new_ids):
        try:
            send(mark_dispatched(job_id, url))
        except Exception as e:  # kombu's errors vary by transport
            reason = f"{type(e).__name__}: {e}"
            raise NotSentYet(ids or new_ids, new_ids[i:], reason, run_id) from e


def unserved_warnings(queues: list[str] | set[str], url: str | None = None) -> list[str]:
    """One line per queue that no live worker consumes (core.store.workers.unserved_queues)."""
    stale = Settings.from_env().stale_after_s
    return [unserved_message(q) for q in unserved_queues(queues, stale, url)]


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
    return submit_many([spec], queue, priority, group, label, gpu_model, reuse, url)[0]


def submit_many(
    specs: list[BenchSpec],
    queue: str | None = None,
    priority: int | None = None,
    group: str | None = None,
    label: str | None = None,
    gpu_model: str | None = None,
    reuse: bool = False,
    url: str | None = None,
) -> list[str]:
    """Record every spec as a queued job in one transaction, then send them; the job ids.

    Raises SpecError (a spec over a limit) or BrokerUnavailable before writing anything, and
    NotSentYet when the broker stopped answering after the rows were written."""
    default = Settings.from_env().default_queue
    ensure_schema(url)
    check_submittable(specs, queue, gpu_model, url)
    require_broker()
    ids: list[str] = []
    jobs = []
    for spec in specs:
        q = queue_for(spec, queue, gpu_model, default)
        if reuse and (existing := find_reusable(spec, q, url)):
            ids.append(existing)
            continue
        jobs.append(new_job(spec, queue=q, priority=priority or 0, group_id=group, label=label))
        ids.append(jobs[-1].id)
    with session_scope(url) as s:
        s.add_all(jobs)
    send_recorded([j.id for j in jobs], ids, url=url)
    return ids


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


def parse_grid(items: Iterable[str], field: str) -> dict[str, list[Any]]:
    """`field=v1,v2,...` items (the CLI's --grid options, the dashboard's sweep lines) as
    {field: [values]}, each value read as YAML like a --set. A bad item is a SpecError on
    `field`, the input it came from."""
    grid: dict[str, list[Any]] = {}
    for item in (i.strip() for i in items):
        if not item:
            continue
        name, _, raw = item.partition("=")
        if not raw.strip():
            raise SpecError(
                [(field, f"{item!r}: expected field=v1,v2,... (one field per line, or per --grid)")]
            )
        grid[name.strip()] = [parse_override(f"{name}={v.strip()}")[1] for v in raw.split(",")]
    return grid


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
    grid: dict[str, list[Any]] | None = None,
    repeats: int = 1,
    group: str | None = None,
    **kw: Any,
) -> tuple[str | None, list[str]]:
    """(group, job ids) of `base` over every combination of `grid`, each with `repeats` seeds,
    submitted all or nothing (submit_many's keywords pass through). More than one job makes
    a sweep: without a group it gets a new one. The one sweep path of the CLI, the dashboard
    and Python."""
    specs = expand_grid(base, grid or {}, repeats) if grid or repeats > 1 else [base]
    if len(specs) > 1:
        group = group or f"sweep-{uuid.uuid4().hex[:8]}"
    try:
        return group, submit_many(specs, group=group, **kw)
    except NotSentYet as e:
        e.group = group
        raise


def cancel(job_id: str, url: str | None = None) -> Cancel:
    """Cancel a queued job, or ask a running one to stop (terminated after a grace period)."""
    return request_cancel(job_id, url)


def retry(job_id: str, url: str | None = None) -> bool:
    """A new attempt of a failed or cancelled job; False if it is neither, or if its spec
    never validated (core.store.jobs.not_retryable says which). BrokerUnavailable when no
    broker answers, before anything changes."""
    require_broker("Nothing was changed.")
    d = prepare_retry(job_id, url)
    if d is None:
        return False
    send(d)
    return True
