"""The queue end to end: real Redis, real worker processes, and nothing lost or duplicated."""

import os
import signal
import time

import pytest
from celery import Celery

from core.spec.schema import BenchSpec
from tests.services import LONG, MEDIUM, TINY, redis_server, wait_until
from tests.worker.bad_payloads import BAD_PAYLOADS
from tests.worker.job_rows import all_final, jobs, result_count, status_of
from worker.client import cancel, retry, submit


def test_fifty_jobs_over_two_workers_each_complete_exactly_once(queue_env, start_workers):
    start_workers(2)
    ids = [submit(BenchSpec(**TINY, seed=i)) for i in range(50)]
    wait_until(lambda: all_final(ids), 240, "50 jobs to finish")
    js = jobs()
    assert {js[i].status for i in ids} == {"succeeded"}
    assert {js[i].attempt for i in ids} == {1}
    assert result_count() == 50
    assert len({js[i].worker for i in ids}) == 2  # both workers served


def test_a_killed_worker_loses_nothing(queue_env, start_workers):
    a, b = start_workers(2)
    job_id = submit(BenchSpec(**MEDIUM))
    wait_until(lambda: status_of(job_id) == "running", 60, "the job to start")
    victim = next(w for w in (a, b) if jobs()[job_id].worker.startswith(w.name + "@"))
    os.killpg(victim.proc.pid, signal.SIGKILL)
    wait_until(lambda: status_of(job_id) == "succeeded", 90, "the job to finish elsewhere")
    job = jobs()[job_id]
    assert not job.worker.startswith(victim.name + "@")
    assert job.attempt == 2 and result_count(job_id) == 1


def test_a_broker_restart_loses_no_queued_job(queue_env, start_workers, monkeypatch, tmp_path):
    with redis_server(tmp_path) as broker:
        monkeypatch.setenv("BNBENCH_BROKER_URL", broker.url)
        ids = [submit(BenchSpec(**TINY, seed=i)) for i in range(5)]
        broker.restart()  # the queued messages die with it: no persistence
        start_workers(1)
        wait_until(lambda: all_final(ids), 120, "jobs re-sent after the restart")
        assert {jobs()[i].status for i in ids} == {"succeeded"}
        assert result_count() == 5


def test_bad_payloads_from_a_raw_client_fail_clearly_and_the_worker_goes_on(
    queue_env, start_workers
):
    start_workers(1)
    client = Celery(broker=queue_env["BNBENCH_BROKER_URL"])  # no bnbench import needed
    for args, kwargs, _ in BAD_PAYLOADS:
        client.send_task("bnbench.run", args=list(args), kwargs=kwargs, queue="cpu")
    wait_until(lambda: len(jobs()) == len(BAD_PAYLOADS), 60, "every bad payload on record")
    messages = [j.error_message for j in jobs().values()]
    assert {j.status for j in jobs().values()} == {"failed"}
    for _, _, words in BAD_PAYLOADS:
        assert any(words in m for m in messages), words
    client.send_task("bnbench.run", kwargs={"spec": TINY}, queue="cpu")
    wait_until(
        lambda: any(j.status == "succeeded" for j in jobs().values()),
        60,
        "a good job after the bad ones",
    )


def test_cancel_a_queued_and_a_running_job_then_retry(queue_env, start_workers):
    start_workers(1)
    running = submit(BenchSpec(**LONG))
    queued = submit(BenchSpec(**TINY))
    wait_until(lambda: status_of(running) == "running", 60, "the long job to start")
    assert cancel(queued) == "cancelled"
    assert cancel(running) == "cancelling"
    wait_until(lambda: status_of(running) == "cancelled", 30, "the running job to stop")
    assert result_count() == 0
    assert retry(queued)
    wait_until(lambda: status_of(queued) == "succeeded", 60, "the retried job")
    assert jobs()[queued].attempt == 1  # it never started before the cancel
    assert not retry(queued)  # succeeded jobs are not retried


def test_a_job_past_its_time_limit_fails_and_the_worker_goes_on(queue_env, start_workers):
    # LONG needs about a minute; 10 s also leaves TINY room on a loaded 2-core machine.
    start_workers(1, queues=["limited"], prefix="lim", env={"BNBENCH_JOB_TIME_LIMIT_S": "10"})
    slow = submit(BenchSpec(**LONG), queue="limited")
    wait_until(lambda: status_of(slow) == "failed", 60, "the time limit")
    assert jobs()[slow].error_type == "TimeLimit"
    quick = submit(BenchSpec(**TINY), queue="limited")
    wait_until(lambda: all_final([quick]), 60, "the next job")
    assert status_of(quick) == "succeeded", jobs()[quick].error_message


def test_a_pickled_message_is_refused_unread(queue_env, start_workers, tmp_path):
    start_workers(1)
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    evil = Celery(broker=queue_env["BNBENCH_BROKER_URL"])
    evil.conf.update(task_serializer="pickle", accept_content=["pickle", "json"])
    evil.send_task("bnbench.run", kwargs={"spec": Exploit()}, queue="cpu")
    time.sleep(3)
    good = submit(BenchSpec(**TINY))
    wait_until(lambda: status_of(good) == "succeeded", 60, "the worker to keep serving")
    assert not marker.exists()
    assert len(jobs()) == 1  # the pickled message never became a job


@pytest.mark.parametrize("gpu_model", [None, "NVIDIA H100 80GB HBM3"])
def test_submit_routes_by_device_class(queue_env, gpu_model):
    job_id = submit(BenchSpec(**TINY), gpu_model=gpu_model)
    assert jobs()[job_id].queue == ("gpu.h100" if gpu_model else "cpu")


def test_a_spec_can_ask_for_a_gpu_model(queue_env):
    job_id = submit(BenchSpec(**{**TINY, "device": "cuda"}, gpu_model="H100"))
    assert jobs()[job_id].queue == "gpu.h100"


def test_a_job_that_ignores_cancel_is_terminated_after_the_grace_period(queue_env, start_workers):
    """torch.compile blocks for seconds inside the first step, where no cancel check runs."""
    start_workers(1)
    stuck = submit(BenchSpec(**LONG, compile="default"))
    wait_until(lambda: status_of(stuck) == "running", 60, "the job to start")
    assert cancel(stuck) == "cancelling"
    wait_until(lambda: status_of(stuck) == "cancelled", 30, "the reconciler to terminate it")
    assert "terminated after a 3 s grace period" in jobs()[stuck].error_message
    after = submit(BenchSpec(**TINY))
    wait_until(lambda: status_of(after) == "succeeded", 90, "the worker to serve again")
    assert status_of(stuck) == "cancelled" and result_count(stuck) == 0


def test_learning_curves_grow_while_the_job_runs(queue_env, start_workers):
    """Each epoch's row is written by the next heartbeat, not when the job ends."""
    from sqlalchemy import func, select

    from core.store.db import session_scope
    from core.store.tables import EpochMetric

    def epochs_written() -> int:
        with session_scope() as s:
            return s.scalar(select(func.count()).where(EpochMetric.job_id == job_id))

    start_workers(1)
    job_id = submit(BenchSpec(**LONG))  # about a minute: 300 epochs
    wait_until(lambda: epochs_written() >= 2, 60, "the first epochs' rows")
    first = epochs_written()
    wait_until(lambda: epochs_written() > first, 30, "more epochs' rows")
    assert status_of(job_id) == "running"
    cancel(job_id)
    wait_until(lambda: status_of(job_id) == "cancelled", 60, "the cancel")
