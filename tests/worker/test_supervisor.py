"""`bnbench worker`'s supervisor: a stop lets the running job finish, within a grace period."""

import os
import time

from core.results import ResultFilter, query_records
from core.spec import BenchSpec
from tests.services import LONG, MEDIUM, wait_until
from worker.launcher import Supervisor, plan_workers
from worker.submit import submit


def status(job_id: str) -> dict:
    return query_records(ResultFilter(job_ids=(job_id,)))[0]


def supervised(tmp_path) -> Supervisor:
    from core.lifecycle import list_workers

    sup = Supervisor(plan_workers("none", 1, None, base_env=dict(os.environ)), "info",
                     str(tmp_path / "logs"))  # fmt: skip
    sup.start()
    wait_until(lambda: list_workers(), 60, "the worker to register")
    return sup


def test_a_stop_lets_the_running_job_finish_and_record_its_result(queue_env, tmp_path):
    sup = supervised(tmp_path)
    job_id = submit(BenchSpec(**MEDIUM))
    wait_until(lambda: status(job_id)["status"] == "running", 60, "the job to start")
    sup.stop(grace_s=90)
    job = status(job_id)
    assert (job["status"], job["attempt"]) == ("succeeded", 1)
    assert job["train_samples_per_s"] is not None  # the result row is there
    assert all(w.proc.poll() is not None for w in sup.workers)


def test_past_the_grace_period_the_worker_is_killed_and_the_job_is_not_lost(queue_env, tmp_path):
    sup = supervised(tmp_path)
    job_id = submit(BenchSpec(**LONG))
    wait_until(lambda: status(job_id)["status"] == "running", 60, "the job to start")
    t0 = time.monotonic()
    sup.stop(grace_s=2)
    assert time.monotonic() - t0 < 15
    assert all(w.proc.poll() is not None for w in sup.workers)
    # Left running with a stale heartbeat: the next worker's reconciler re-sends it.
    assert status(job_id)["status"] == "running"
