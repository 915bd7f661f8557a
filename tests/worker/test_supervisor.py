"""`bnbench worker`'s supervisor: a stop lets the running job finish, within a grace period."""

import os
import signal
import time
from pathlib import Path

from core.spec.schema import BenchSpec
from core.store.read import ResultFilter, query_records
from tests.services import LONG, MEDIUM, wait_until
from worker.client import submit
from worker.launcher import Supervisor, plan_workers


def group_gone(pgid: int) -> bool:
    """No live process left in the group (zombies, which an init reaps later, do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, group = fields[0], int(fields[2])
        if group == pgid and state != "Z":
            return False
    return True


def status(job_id: str) -> dict:
    return query_records(ResultFilter(job_ids=(job_id,)))[0]


def supervised(tmp_path) -> Supervisor:
    from core.store.workers import list_workers

    plan = plan_workers("none", 1, None, base_env=dict(os.environ))
    sup = Supervisor(plan, "info", str(tmp_path / "logs"), grace_s=90)
    sup.start()
    wait_until(lambda: list_workers(), 60, "the worker to register")
    return sup


def test_a_stop_lets_the_running_job_finish_and_record_its_result(queue_env, tmp_path):
    sup = supervised(tmp_path)
    job_id = submit(BenchSpec(**MEDIUM))
    wait_until(lambda: status(job_id)["status"] == "running", 60, "the job to start")
    pgids = [w.proc.pid for w in sup.workers]
    sup.stop()
    job = status(job_id)
    assert (job["status"], job["attempt"]) == ("succeeded", 1)
    assert job["train_samples_per_s"] is not None  # the result row is there
    wait_until(lambda: all(group_gone(g) for g in pgids), 10, "the process groups to end")
    sup.stop()  # a second stop is a no-op


def test_past_the_grace_period_the_worker_is_killed_and_the_job_is_not_lost(queue_env, tmp_path):
    sup = supervised(tmp_path)
    job_id = submit(BenchSpec(**LONG))
    wait_until(lambda: status(job_id)["status"] == "running", 60, "the job to start")
    pgids = [w.proc.pid for w in sup.workers]
    t0 = time.monotonic()
    sup.stop(grace_s=2)
    assert time.monotonic() - t0 < 15
    # The pool child that ran the job as well (a SIGKILLed process takes a moment to go).
    wait_until(lambda: all(group_gone(g) for g in pgids), 10, "the process groups to end")
    # Left running with a stale heartbeat: the next worker's reconciler re-sends it.
    assert status(job_id)["status"] == "running"


def test_a_worker_that_dies_is_restarted_and_its_orphaned_pool_child_killed(queue_env, tmp_path):
    sup = supervised(tmp_path)
    job_id = submit(BenchSpec(**LONG))
    wait_until(lambda: status(job_id)["status"] == "running", 60, "the job to start")
    (w,) = sup.workers
    old = w.proc.pid
    os.kill(old, signal.SIGKILL)  # the main process only: its pool child runs on
    w.proc.wait()
    w.started = 0  # no backoff for the test
    sup.poll()
    try:
        wait_until(lambda: group_gone(old), 10, "the orphaned pool child to end")
        assert w.proc.pid != old and w.proc.poll() is None
    finally:
        sup.stop(grace_s=1)
