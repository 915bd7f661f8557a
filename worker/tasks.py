"""The `bnbench.run` task, and the worker's own upkeep: registration, heartbeat, reconciler.

The main worker process never imports torch, so CUDA is only ever initialized in the pool
child that runs the job.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from celery import signals
from celery.exceptions import TimeLimitExceeded

from core.config import simulated_gpu_model
from core.store.migrate import ensure_schema
from core.store.workers import register_worker, unregister_worker, worker_heartbeat
from worker.app import app
from worker.consumer import spool_for
from worker.envelope import TASK_NAME
from worker.execute import DatabaseUnavailable, execute, hard_limit_failure
from worker.memory_budget import worker_limits
from worker.settings import Settings
from worker.spool import Flusher

log = logging.getLogger("bnbench.worker")


RETRY_DELAYS_S = (1, 2, 5, 10, 30, 60)  # then every 60 s, for as long as the outage lasts


# Not bound: a client's kwargs may use any name, `self` included, without a TypeError.
@app.task(name=TASK_NAME, max_retries=None)
def run_job(*args, **kwargs) -> str:
    req = run_job.request
    queue = (req.delivery_info or {}).get("routing_key") or "unknown"
    headers = {"id": req.id, "retries": req.retries, "timelimit": req.timelimit,
               "origin": getattr(req, "origin", None)}  # fmt: skip
    try:
        return execute(
            args, kwargs, worker=req.hostname, queue=queue, settings=Settings.from_env(),
            task_id=req.id, headers=headers,
        )  # fmt: skip
    except DatabaseUnavailable as e:
        delay = RETRY_DELAYS_S[min(req.retries or 0, len(RETRY_DELAYS_S) - 1)]
        log.warning("database unavailable (%s); message %s retried in %d s", e, req.id, delay)
        raise run_job.retry(exc=e, countdown=delay) from None


@signals.worker_process_init.connect
def _load_engine(**_) -> None:
    """The pool child imports what a job uses (torch; the suites' statistics, to judge a
    round) before its first job, not inside that job's time limit: a soft limit that lands
    mid-import leaves a module half-initialized, and every later job in the child fails with
    an AttributeError from inside torch or scipy."""
    import core.engine.run  # noqa: F401  lazy: the main process never imports torch
    import worker.suite_rounds  # noqa: F401  lazy: nor the suites' statistics


@signals.task_failure.connect
def _hard_time_limit(sender=None, task_id=None, exception=None, kwargs=None, **_) -> None:
    """The pool killed a job at the hard limit: its row says so, instead of running it again
    as a lost worker's job. Runs in the main process, so it goes through the spool."""
    ours = getattr(sender, "name", None) == TASK_NAME
    if not ours or not isinstance(exception, TimeLimitExceeded) or _upkeep is None or not task_id:
        return
    record = hard_limit_failure(task_id, kwargs or {}, Settings.from_env())
    spool_for(_upkeep.worker_name).append("job_failed", record)


class Upkeep(threading.Thread):
    """Worker heartbeat in the workers table, and the reconciler, on one timer."""

    def __init__(self, name: str, settings: Settings, register=None):
        super().__init__(name="bnbench-upkeep", daemon=True)
        self.worker_name, self.settings = name, settings
        self.register = register
        self.stop = threading.Event()
        self.flusher = Flusher(spool_for(name), settings.heartbeat_s)

    def run(self) -> None:
        from worker.reconciler import notify_regressions, reconcile  # lazy: scipy, off the start

        next_reconcile = next_check = time.monotonic()
        while not self.stop.wait(self.settings.heartbeat_s):
            try:
                if not worker_heartbeat(self.worker_name) and self.register is not None:
                    log.warning("worker %s: its row was gone; registered again", self.worker_name)
                    self.register()
                if time.monotonic() >= next_reconcile:
                    did = reconcile(self.settings)
                    if any(did.values()):
                        log.warning("reconciler: %s", did)
                    next_reconcile = time.monotonic() + self.settings.reconcile_every_s
                if time.monotonic() >= next_check:
                    period = self.settings.regression_check_s
                    next_check = time.monotonic() + period
                    if sent := notify_regressions(self.worker_name, period):
                        log.warning("regressions: %d sent to the alert webhook", sent)
            except Exception:  # keep the loop alive through database or broker outages
                log.warning("upkeep pass failed", exc_info=True)


_upkeep: Upkeep | None = None


@signals.worker_init.connect
def _migrate(**_) -> None:
    ensure_schema()


@signals.worker_ready.connect
def _register(sender, **_) -> None:
    global _upkeep
    settings = Settings.from_env()
    queues = [q.name for q in sender.app.amqp.queues.consume_from.values()]
    budget = worker_limits().max_model_mb
    gpu = os.environ.get("BNBENCH_WORKER_GPU") or simulated_gpu_model()

    def register() -> None:
        register_worker(sender.hostname, queues, gpu or None, memory_mb=budget)

    register()
    _upkeep = Upkeep(sender.hostname, settings, register)
    _upkeep.start()
    _upkeep.flusher.start()
    log.info("worker %s ready on %s", sender.hostname, ", ".join(queues))


@signals.worker_shutdown.connect
def _unregister(sender, **_) -> None:
    if _upkeep is not None:
        _upkeep.stop.set()
        _upkeep.flusher.stop.set()
        try:
            _upkeep.flusher.spool.flush()
        except Exception:
            log.warning("spooled records kept for the next start", exc_info=True)
    try:
        unregister_worker(sender.hostname)
    except Exception:
        log.warning("could not unregister %s", sender.hostname, exc_info=True)
