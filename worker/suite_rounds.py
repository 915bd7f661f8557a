"""Suite runs through the queue: the first round sent at submission, each next round sent by
the worker that finished the round's last job, or by the reconciler when that worker could
not (core.suite_runs decides which round comes next, exactly once)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from core.spec.schema import BenchSpec
from core.store.jobs import mark_dispatched
from core.store.suite_runs import run_of_job, stalled_runs
from core.suite_runs import advance, start
from core.suites import PROFILES
from worker.client import check_submittable, require_broker, send, send_recorded
from worker.queues import queue_for
from worker.settings import Settings

if TYPE_CHECKING:
    from core.suites import Suite

log = logging.getLogger("bnbench.suites")


def place(spec: BenchSpec, queue: str | None, gpu_model: str | None) -> str:
    return queue_for(spec, queue, gpu_model, Settings.from_env().default_queue)


def dispatch(job_ids: list[str]) -> None:
    for job_id in job_ids:
        send(mark_dispatched(job_id))


def submit_suite(
    suite: Suite,
    profile: str,
    keys: list[str],
    queue: str | None = None,
    gpu_model: str | None = None,
) -> tuple[str, list[str]]:
    """Check every spec of the run against the deployment's limits (all or nothing), record
    the run and its first round, and send that round. Returns (run id, first round's job ids).
    BrokerUnavailable before anything is recorded; NotSentYet after."""
    last_round = range(PROFILES[profile].seed_rounds[-1])
    every = [spec for e in suite.experiments if not keys or e.key in keys
             for _, spec in e.specs(PROFILES[profile], last_round)]  # fmt: skip
    check_submittable(every, queue, gpu_model)
    require_broker()
    run_id, ids = start(suite, profile, keys, place, queue=queue, gpu_model=gpu_model)
    send_recorded(ids, run_id=run_id)
    return run_id, ids


def after_job(job_id: str) -> int:
    """Called when a job reaches a final status: if it ended its suite run's round, the next
    round is sent. Returns how many jobs were sent."""
    run_id = run_of_job(job_id)
    if run_id is None:
        return 0
    ids = advance(run_id, place)
    if ids:
        log.info("suite run %s: next round of %d jobs sent", run_id, len(ids))
    dispatch(ids)
    return len(ids)


def advance_stalled(quiet_s: float) -> int:
    """The reconciler's backstop: runs whose round ended quiet_s ago and were not advanced."""
    sent = 0
    for run_id in stalled_runs(quiet_s):
        try:  # one run this worker cannot judge must not hold up the others
            ids = advance(run_id, place)
        except Exception as e:
            log.error("suite run %s: cannot judge its round here (%s: %s); is BNBENCH_SUITES the "
                      "same as the submitter's?", run_id, type(e).__name__, e)  # fmt: skip
            continue
        dispatch(ids)
        sent += len(ids)
        log.warning("suite run %s: advanced by the reconciler (%d jobs sent)", run_id, len(ids))
    return sent
