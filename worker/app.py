"""The Celery application. JSON only, late acks, one job per worker process at a time."""

from __future__ import annotations

import os

from celery import Celery, signals

from core import logs
from worker.settings import Settings


def create_app(settings: Settings | None = None) -> Celery:
    s = settings or Settings.from_env()
    # BNBENCH_WORKER_INCLUDE adds task modules (comma-separated), e.g. benchmarks' probes.
    extra = [m for m in os.environ.get("BNBENCH_WORKER_INCLUDE", "").split(",") if m]
    app = Celery("bnbench", broker=s.broker_url, include=["worker.tasks", *extra])
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],  # a pickled message is refused, never loaded
        result_serializer="json",
        event_serializer="json",
        task_ignore_result=True,  # the database holds results
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=s.job_time_limit_s,
        task_time_limit=s.hard_time_limit_s,
        worker_consumer="worker.consumer:StrictConsumer",  # no message can stop a worker
        task_default_queue=s.default_queue,
        task_create_missing_queues=True,
        broker_connection_retry_on_startup=True,
        broker_use_ssl=s.broker_ssl(),
        broker_transport_options={
            # Above the longest job, so a running job's message is never handed out twice;
            # a dead worker's job comes back through the heartbeat reconciler instead.
            "visibility_timeout": int(s.job_time_limit_s + 600),
            "unacked_restore_interval": 10,
            "unacked_restore_throttle": 1,
            "priority_steps": list(range(10)),
            "sep": ":",
            "queue_order_strategy": "priority",
        },
        worker_hijack_root_logger=False,
        # The pool child imports torch before it reports up (tasks._load_engine): seconds on
        # a busy host, where Celery's 4 s default would kill the child and start another.
        worker_proc_alive_timeout=120.0,
        worker_cancel_long_running_tasks_on_connection_loss=False,
    )
    return app


@signals.setup_logging.connect
def _logging(loglevel=None, logfile=None, **_) -> None:
    """Celery's own records and ours, in BNBENCH_LOG_FORMAT, with job ids (pool children too)."""
    logs.configure(loglevel or "INFO", logfile=logfile or None)


app = create_app()
