"""Re-sends what the broker lost and fails what cannot finish. Runs in every worker.

The database knows every job; the broker may forget (a restart without persistence, a
transport that drops a message when its consumer dies). Each pass is safe to run from many
workers at once: every re-send is taken by one of them through an atomic update, and a
duplicate message is harmless because claiming is atomic too.
"""

from __future__ import annotations

import logging

from core.lifecycle import (
    overdue_cancels,
    overdue_queued,
    redispatch_if_still_overdue,
    requeue_stale,
)
from core.store import mark_failed
from worker.settings import Settings
from worker.submit import get_app, send

log = logging.getLogger("bnbench.reconciler")


def broker_queue_length(queue: str) -> int:
    with get_app().connection_for_write() as conn:
        try:
            return conn.default_channel.queue_declare(queue=queue, passive=True).message_count
        except Exception:  # a queue nobody declared yet holds nothing
            return 0


def reconcile(settings: Settings) -> dict[str, int]:
    """One pass; returns counts of what it did."""
    done = {"requeued": 0, "failed": 0, "resent": 0, "terminated": 0}
    resend, failed = requeue_stale(settings.stale_after_s, settings.max_attempts)
    for d in resend:
        send(d)
        log.warning(
            "job %s lost its worker; re-sent to %s", d.job_id, d.queue, extra={"job_id": d.job_id}
        )
    done["requeued"], done["failed"] = len(resend), len(failed)

    for queue, job_ids in overdue_queued(settings.requeue_after_s).items():
        if broker_queue_length(queue) > 0:
            continue  # messages are still flowing; the jobs are waiting their turn
        for job_id in job_ids:
            if (d := redispatch_if_still_overdue(job_id, settings.requeue_after_s)) is not None:
                send(d)
                done["resent"] += 1
                log.warning(
                    "job %s was queued but missing from %s; re-sent", job_id, queue,
                    extra={"job_id": job_id},
                )  # fmt: skip

    for job_id, task_id in overdue_cancels(settings.cancel_grace_s):
        if task_id:
            get_app().control.revoke(task_id, terminate=True, signal="SIGKILL")
        if mark_failed(
            job_id,
            "Cancelled",
            f"terminated after a {settings.cancel_grace_s:.0f} s grace period",
            status="cancelled",
        ):
            done["terminated"] += 1
    return done
