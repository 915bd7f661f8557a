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

from core.lifecycle import register_worker, unregister_worker, worker_heartbeat
from core.migrate import ensure_schema
from worker.app import TASK_NAME, app
from worker.execute import execute
from worker.settings import Settings

log = logging.getLogger("bnbench.worker")


@app.task(name=TASK_NAME, bind=True)
def run_job(self, *args, **kwargs) -> str:
    queue = (self.request.delivery_info or {}).get("routing_key") or "unknown"
    return execute(
        args, kwargs, worker=self.request.hostname, queue=queue, settings=Settings.from_env()
    )


class Upkeep(threading.Thread):
    """Worker heartbeat in the workers table, and the reconciler, on one timer."""

    def __init__(self, name: str, settings: Settings):
        super().__init__(name="bnbench-upkeep", daemon=True)
        self.worker_name, self.settings = name, settings
        self.stop = threading.Event()

    def run(self) -> None:
        from worker.reconciler import reconcile

        next_reconcile = time.monotonic()
        while not self.stop.wait(self.settings.heartbeat_s):
            try:
                worker_heartbeat(self.worker_name)
                if time.monotonic() >= next_reconcile:
                    did = reconcile(self.settings)
                    if any(did.values()):
                        log.warning("reconciler: %s", did)
                    next_reconcile = time.monotonic() + self.settings.reconcile_every_s
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
    register_worker(sender.hostname, queues, os.environ.get("BNBENCH_WORKER_GPU") or None)
    _upkeep = Upkeep(sender.hostname, settings)
    _upkeep.start()
    log.info("worker %s ready on %s", sender.hostname, ", ".join(queues))


@signals.worker_shutdown.connect
def _unregister(sender, **_) -> None:
    if _upkeep is not None:
        _upkeep.stop.set()
    try:
        unregister_worker(sender.hostname)
    except Exception:
        log.warning("could not unregister %s", sender.hostname, exc_info=True)
