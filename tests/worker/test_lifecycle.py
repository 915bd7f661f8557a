"""Job state transitions: every one atomic, so duplicates and races change nothing."""

import threading
import time
import uuid

from core.spec.schema import BenchSpec
from core.store.db import session_scope
from core.store.jobs import (
    Cancel,
    admit,
    claim,
    create_job,
    create_rejected_job,
    heartbeat,
    mark_failed,
    not_retryable,
    overdue_cancels,
    overdue_queued,
    prepare_retry,
    redispatch_if_still_overdue,
    request_cancel,
    requeue_stale,
)
from core.store.tables import Job
from core.store.workers import queue_memory_mb, register_worker, unserved_queues

SPEC = BenchSpec(device="cpu")


def job(db_url, **kw):
    return create_job(SPEC, url=db_url, **kw)


def status(db_url, job_id):
    with session_scope(db_url) as s:
        return s.get(Job, job_id)


def test_only_one_of_many_concurrent_claims_wins(db_url):
    job_id = job(db_url)
    wins = []
    threads = [
        threading.Thread(target=lambda i=i: wins.append(claim(job_id, f"w{i}", 60)))
        for i in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * 5 + [True]
    row = status(db_url, job_id)
    assert (row.status, row.attempt) == ("running", 1)


def test_a_live_running_job_cannot_be_claimed_but_a_stale_one_can(db_url):
    job_id = job(db_url)
    assert claim(job_id, "a", 60)
    assert not claim(job_id, "b", 60)
    time.sleep(0.05)
    assert claim(job_id, "b", 0.01)  # a's heartbeat is older than 10 ms
    row = status(db_url, job_id)
    assert (row.worker, row.attempt) == ("b", 2)


def test_a_finished_job_is_never_claimed_again(db_url):
    job_id = job(db_url)
    claim(job_id, "a", 60)
    mark_failed(job_id, "X", "boom", db_url)
    assert not claim(job_id, "b", 0.0)


def test_heartbeat_reports_cancel_and_lost_ownership(db_url):
    job_id = job(db_url)
    claim(job_id, "a", 60)
    assert heartbeat(job_id, "a", 2, 0.5) == "ok"
    assert status(db_url, job_id).progress == 0.5
    assert heartbeat(job_id, "intruder", 2, 0.6) == "lost"
    assert request_cancel(job_id) == "cancelling"
    assert heartbeat(job_id, "a", 3, 0.7) == "cancel"


def test_cancel_a_queued_job_at_once(db_url):
    job_id = job(db_url)
    assert request_cancel(job_id) == "cancelled"
    assert not claim(job_id, "w", 60)
    assert request_cancel(job_id) is Cancel.WAS_CANCELLED  # already final: says so


def test_cancel_says_why_it_did_nothing(db_url):
    job_id = job(db_url)
    claim(job_id, "a", 60)
    assert request_cancel(job_id) is Cancel.CANCELLING
    assert request_cancel(job_id) is Cancel.ALREADY_ASKED
    mark_failed(job_id, "RuntimeError", "boom")
    assert request_cancel(job_id) is Cancel.FAILED
    assert request_cancel(uuid.uuid4().hex) is Cancel.MISSING


def test_retry_only_failed_or_cancelled_jobs(db_url):
    job_id = job(db_url)
    assert prepare_retry(job_id) is None  # queued
    claim(job_id, "w", 60)
    mark_failed(job_id, "X", "boom")
    d = prepare_retry(job_id)
    assert d is not None and d.job_id == job_id and d.spec == SPEC.model_dump(mode="json")
    row = status(db_url, job_id)
    assert (row.status, row.error_type, row.task_id) == ("queued", None, d.task_id)


def test_stale_running_jobs_are_requeued_then_failed_after_max_attempts(db_url):
    job_id = job(db_url)
    claim(job_id, "w1", 60)
    time.sleep(0.05)
    resend, failed = requeue_stale(0.01, max_attempts=2)
    assert [d.job_id for d in resend] == [job_id] and failed == []
    assert status(db_url, job_id).status == "queued"
    claim(job_id, "w2", 60)
    time.sleep(0.05)
    resend, failed = requeue_stale(0.01, max_attempts=2)
    assert resend == [] and failed == [job_id]
    row = status(db_url, job_id)
    assert row.status == "failed" and row.error_type == "WorkerLost"
    assert "w2" in row.error_message


def test_overdue_queued_jobs_are_taken_for_resend_once(db_url):
    job_id = job(db_url, queue="cpu")
    job(db_url, queue="local")  # a `suite run --local` process runs its own queued jobs
    time.sleep(0.05)
    assert overdue_queued(0.01) == {"cpu": [(job_id, None)]}
    assert redispatch_if_still_overdue(job_id, 0.01) is not None
    assert redispatch_if_still_overdue(job_id, 5) is None  # just re-sent


def test_cancels_past_their_grace_period_are_listed(db_url):
    job_id = job(db_url)
    claim(job_id, "w", 60)
    request_cancel(job_id)
    assert overdue_cancels(3600) == []
    time.sleep(0.05)
    assert [j for j, _ in overdue_cancels(0.01)] == [job_id]


def test_a_rejected_payload_becomes_a_failed_job_with_its_reason(db_url):
    job_id = str(uuid.uuid4())
    raw = '{"kwargs": {"spec": "' + "x" * 20000 + '"}}'
    assert create_rejected_job(job_id, raw, "InvalidPayload", "spec: must be a JSON object", "cpu")
    row = status(db_url, job_id)
    assert (row.status, row.error_type, row.kind) == ("failed", "InvalidPayload", "invalid")
    assert row.spec_json["truncated"] is True


def test_a_rejected_payload_never_touches_a_job_that_exists(db_url):
    job_id = job(db_url)
    assert not create_rejected_job(job_id, "{}", "InvalidPayload", "bad", "cpu")
    assert status(db_url, job_id).status == "queued"


def test_text_no_database_can_store_is_escaped_in_a_rejected_job(db_url):
    job_id = str(uuid.uuid4())
    assert create_rejected_job(
        job_id, 'nul \x00 "\x00" \udc80', "InvalidPayload", "a\x00b\udc80", "cpu"
    )
    row = status(db_url, job_id)
    assert row.error_message == "a\\x00b\\udc80"


def test_claim_sets_the_workers_current_job(db_url):
    from core.store.workers import list_workers, release_worker

    register_worker("w@h", ["cpu"], None)
    job_id = job(db_url)
    claim(job_id, "w@h", 60)
    assert list_workers()[0].current_job_id == job_id
    release_worker("w@h")
    assert list_workers()[0].current_job_id is None


def test_a_delivery_gets_its_row_once_and_a_different_spec_is_told_what_the_row_holds(db_url):
    job_id = str(uuid.uuid4())
    assert admit(job_id, SPEC, "cpu") is None  # created, queued
    assert admit(job_id, SPEC, "cpu") is None  # the same spec again: its own row
    other = SPEC.with_overrides(seed=SPEC.seed + 1)
    assert admit(job_id, other, "cpu") == SPEC.spec_hash()
    assert status(db_url, job_id).spec_hash == SPEC.spec_hash()


def test_a_claim_stores_the_task_id_of_the_delivery_that_runs_it(db_url):
    job_id = job(db_url)
    assert claim(job_id, "w", 60, task_id="task-42")
    assert status(db_url, job_id).task_id == "task-42"


def test_a_job_whose_spec_never_validated_is_not_retried_and_says_why(db_url):
    job_id = str(uuid.uuid4())
    create_rejected_job(job_id, '{"spec": {"bachsize": 1}}', "InvalidPayload", "bad", "cpu")
    assert prepare_retry(job_id) is None
    why = not_retryable(job_id)
    assert "spec never validated (InvalidPayload)" in why and "submit it as a new job" in why
    queued = job(db_url)
    assert "is queued; only failed or cancelled" in not_retryable(queued)
    assert not_retryable(str(uuid.uuid4())).endswith("no such job")


def test_a_queues_memory_budget_is_the_largest_among_its_live_workers(db_url):
    register_worker("small", ["cpu"], None, memory_mb=1000)
    register_worker("big", ["cpu"], None, memory_mb=8000)
    register_worker("gpu", ["gpu"], "H100", memory_mb=64000)
    register_worker("unknown", ["cpu"], None)
    assert queue_memory_mb("cpu", stale_after_s=60) == 8000
    assert queue_memory_mb("gpu", stale_after_s=60) == 64000
    assert queue_memory_mb("gpu.h100", stale_after_s=60) is None
    time.sleep(0.05)
    assert queue_memory_mb("cpu", stale_after_s=0.01) is None  # all stale now


def test_a_queue_with_no_live_consumer_is_named(db_url):
    register_worker("cpu0@h", ["cpu"], None)
    register_worker("gpu0@h", ["gpu", "gpu.a100"], "A100")
    assert unserved_queues({"cpu", "gpu.a100", "gpu.h100", "local"}, 60) == ["gpu.h100"]
    time.sleep(0.05)
    assert unserved_queues({"cpu", "gpu.a100"}, stale_after_s=0.01) == ["cpu", "gpu.a100"]
