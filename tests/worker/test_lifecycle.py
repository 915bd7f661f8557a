"""Job state transitions: every one atomic, so duplicates and races change nothing."""

import threading
import time
import uuid

from core.db import session_scope
from core.dbmodels import Job
from core.lifecycle import (
    claim,
    create_rejected_job,
    heartbeat,
    overdue_cancels,
    overdue_queued,
    prepare_retry,
    redispatch_if_still_overdue,
    register_worker,
    request_cancel,
    requeue_stale,
)
from core.spec import BenchSpec
from core.store import create_job, mark_failed

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
    assert request_cancel(job_id) == "cancelled"  # already final: says so


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
    job_id = job(db_url)
    time.sleep(0.05)
    assert overdue_queued(0.01) == {"local": [(job_id, None)]}
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
    from core.lifecycle import list_workers, release_worker

    register_worker("w@h", ["cpu"], None)
    job_id = job(db_url)
    claim(job_id, "w@h", 60)
    assert list_workers()[0]["current_job_id"] == job_id
    release_worker("w@h")
    assert list_workers()[0]["current_job_id"] is None
