"""Refused messages are filed where their sender looks: a failed job under the job id they
name when that job does not exist, else a rejected_messages record; never over a real job."""

import uuid

from core.spec.schema import BenchSpec
from core.store.db import session_scope
from core.store.jobs import create_job
from core.store.rejections import Rejection, file_refusal, recent_rejections, rejection_count
from core.store.tables import Job


def refused(job_id=None, reason="body must be a triple") -> Rejection:
    return Rejection.of(reason, {"id": "task-1"}, [[], {"job_id": job_id}], queue="cpu",
                        worker="w@h", job_id=job_id)  # fmt: skip


def test_a_message_naming_a_new_job_id_becomes_that_failed_job(db_url):
    job_id = str(uuid.uuid4())
    assert file_refusal(refused(job_id)) == "job"
    with session_scope() as s:
        job = s.get(Job, job_id)
        assert (job.status, job.kind, job.error_type) == ("failed", "invalid", "InvalidMessage")
    assert file_refusal(refused(job_id)) == "duplicate"  # a redelivery of the same message
    assert rejection_count() == 0


def test_a_message_naming_an_existing_job_is_recorded_and_the_job_untouched(db_url):
    job_id = create_job(BenchSpec(), queue="cpu")
    assert file_refusal(refused(job_id)) == "record"
    with session_scope() as s:
        assert s.get(Job, job_id).status == "queued"
    [row] = recent_rejections()
    assert (row.job_id, row.task_id, row.worker) == (job_id, "task-1", "w@h")


def test_a_message_naming_no_job_is_recorded(db_url):
    assert file_refusal(refused()) == "record"
    assert rejection_count() == 1 and rejection_count(within_s=60) == 1


def test_hostile_text_is_stored_escaped_on_every_backend(db_url):
    r = Rejection.of("bad \x00 \udc80", {"id": "t\x00", "x": "\udc80"}, b"\x00\xff" * 3000)
    assert file_refusal(r) == "record"
    [row] = recent_rejections()
    assert "\\x00" in row.reason and "\x00" not in row.headers
    assert len(row.body) <= 4096 and "\\xff" in row.body
