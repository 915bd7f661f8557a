"""The worker's outbox: records its main process may not lose survive a database outage and
a restart, and reach the database once each."""

import json
from dataclasses import replace

from core.spec.schema import BenchSpec
from core.store.db import session_scope
from core.store.jobs import claim, create_job
from core.store.rejections import Rejection
from core.store.tables import Job
from tests.services import TINY
from tests.worker.job_rows import rejected
from worker.execute import hard_limit_failure
from worker.settings import Settings
from worker.spool import Spool, spool_dir


def refusal(**kw) -> dict:
    return Rejection.of("body must be a triple", {"id": "t1"}, b"[]", queue="cpu", **kw).to_dict()


def test_a_record_survives_until_it_is_written_once(db_url, tmp_path):
    spool = Spool(tmp_path / "spool")
    spool.append("rejection", refusal())
    assert len(spool.pending()) == 1
    again = Spool(tmp_path / "spool")  # a restarted worker finds it
    assert again.flush() == 1 and again.pending() == []
    [row] = rejected()
    assert (row.reason, row.body, row.task_id, row.queue) == (
        "body must be a triple", "[]", "t1", "cpu"
    )  # fmt: skip


def test_a_flush_while_the_database_is_away_keeps_every_record(db_url, tmp_path, monkeypatch):
    spool = Spool(tmp_path / "spool")
    for _ in range(3):
        spool.append("rejection", refusal())
    monkeypatch.setenv("BNBENCH_DATABASE_URL", "postgresql://nobody@127.0.0.1:9/none")
    try:
        spool.flush()
    except Exception as e:
        assert "9" in str(e) or "connect" in str(e).lower()
    assert len(spool.pending()) == 3
    monkeypatch.setenv("BNBENCH_DATABASE_URL", db_url)
    assert spool.flush() == 3 and len(rejected()) == 3


def test_writing_the_same_record_twice_stores_it_once(db_url, tmp_path):
    spool = Spool(tmp_path / "spool")
    record = refusal()
    spool.append("rejection", record)
    spool.append("rejection", record)  # as after a crash between the write and the unlink
    assert spool.flush() == 2 and len(rejected()) == 1


def test_a_hard_time_limit_fails_the_running_job(db_url, tmp_path):
    job_id = create_job(BenchSpec(**TINY), queue="cpu")
    claim(job_id, "w@test", 60, task_id="task-9")
    settings = replace(Settings.from_env(), job_time_limit_s=30)
    record = hard_limit_failure("task-9", {"spec": TINY, "job_id": job_id}, settings)
    spool = Spool(tmp_path / "spool")
    spool.append("job_failed", record)
    spool.flush()
    with session_scope() as s:
        job = s.get(Job, job_id)
        assert (job.status, job.error_type) == ("failed", "TimeLimit")
        assert "hard time limit of 60 s after ignoring the soft limit of 30 s" in job.error_message


def test_an_unreadable_record_is_set_aside_not_retried_forever(db_url, tmp_path):
    spool = Spool(tmp_path / "spool")
    path = spool.append("rejection", refusal())
    path.write_text("{not json")
    spool.append("rejection", refusal())
    assert spool.flush() == 1 and spool.pending() == []
    assert [p.suffix for p in (tmp_path / "spool").iterdir()] == [".bad"]


def test_each_worker_has_its_own_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("BNBENCH_SPOOL_DIR", str(tmp_path))
    assert spool_dir("cpu0@host/x") == tmp_path / "cpu0@host_x"
    assert json.loads(json.dumps(refusal()))["reason"] == "body must be a triple"
