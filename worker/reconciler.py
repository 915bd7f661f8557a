"""Re-sends what the broker lost and fails what cannot finish. Runs in every worker.

The database knows every job; the broker may forget (a restart without persistence, a
transport that drops a message when its consumer dies). Each pass is safe to run from many
workers at once: every re-send is taken by one of them through an atomic update, and a
duplicate message is harmless because claiming is atomic too.
"""

from __future__ import annotations

import logging

from core.alerts import announce
from core.config import webhook_url
from core.history import verdicts
from core.store.jobs import (
    mark_cancelled,
    overdue_cancels,
    overdue_queued,
    redispatch_if_still_overdue,
    requeue_stale,
)
from core.store.leases import take_turn
from worker.broker_contents import BrokerContents
from worker.broker_contents import read as broker_contents_of
from worker.client import get_app, send
from worker.settings import Settings
from worker.suite_rounds import advance_stalled

log = logging.getLogger("bnbench.reconciler")


def broker_contents(queues: list[str]) -> BrokerContents | None:
    """What a Redis broker holds for these queues; None for another transport."""
    with get_app().connection_for_write() as conn:
        if conn.transport.driver_type != "redis":
            return None
        return broker_contents_of(conn.default_channel.client, queues)


def broker_queue_length(queue: str) -> int:
    with get_app().connection_for_write() as conn:
        try:
            return conn.default_channel.queue_declare(queue=queue, passive=True).message_count
        except Exception:  # a queue nobody declared yet holds nothing
            return 0


def missing_jobs(settings: Settings) -> list[str]:
    """Queued jobs, sent more than requeue_after_s ago, whose message the broker no longer
    holds: each job on its own age, whatever else is waiting in its queue."""
    overdue = overdue_queued(settings.requeue_after_s)
    if not overdue:
        return []
    held = broker_contents(list(overdue))
    missing, fresh_s = [], settings.requeue_after_s
    for queue, jobs in overdue.items():
        if held is None and broker_queue_length(queue) > 0:
            continue  # not Redis: only an empty queue shows its messages are gone
        missing += [j for j, t in jobs if held is None or not held.holds(t, fresh_s)]
    return missing


def reconcile(settings: Settings) -> dict[str, int]:
    """One pass; returns counts of what it did."""
    done = {"requeued": 0, "failed": 0, "resent": 0, "terminated": 0, "next_round": 0}
    resend, failed = requeue_stale(settings.stale_after_s, settings.max_attempts)
    for d in resend:
        send(d)
        log.warning(
            "job %s lost its worker; re-sent to %s", d.job_id, d.queue, extra={"job_id": d.job_id}
        )
    done["requeued"], done["failed"] = len(resend), len(failed)

    for job_id in missing_jobs(settings):
        if (again := redispatch_if_still_overdue(job_id, settings.requeue_after_s)) is not None:
            send(again)
            done["resent"] += 1
            log.warning(
                "job %s was queued but missing from %s; re-sent", job_id, again.queue,
                extra={"job_id": job_id},
            )  # fmt: skip

    for job_id, task_id in overdue_cancels(settings.cancel_grace_s):
        if task_id:
            get_app().control.revoke(task_id, terminate=True, signal="SIGKILL")
            why = f"terminated after a {settings.cancel_grace_s:.0f} s grace period"
        else:
            why = (f"marked cancelled after a {settings.cancel_grace_s:.0f} s grace period; "
                   "no task id was stored, so its process could not be signalled")  # fmt: skip
        if mark_cancelled(job_id, why):
            done["terminated"] += 1

    done["next_round"] = advance_stalled(settings.stale_after_s)
    return done


REGRESSION_CHECK = "regression-check"  # the lease of the fleet's regression check


def notify_regressions(holder: str | None = None, period_s: float = 0.0) -> int:
    """With BNBENCH_ALERT_WEBHOOK set, POST the regressions no process has announced yet
    (core.alerts); returns how many were sent. A worker passes its name and its check
    period: the check is then done by one worker of the fleet per period (core.store.leases)."""
    hook = webhook_url()
    if hook is None:
        return 0
    if holder is not None and not take_turn(REGRESSION_CHECK, holder, period_s):
        return 0
    return len(announce(verdicts(), hook))
