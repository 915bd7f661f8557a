"""Structured logs: one JSON object per line, and the job id on every record a job causes."""

import io
import json
import logging

import pytest

from core import logs
from core.spec.schema import BenchSpec
from core.store.read import query_records
from tests.services import TINY, wait_until
from worker.client import submit


@pytest.fixture
def restore_root_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_the_job_id_of_the_running_job(monkeypatch, restore_root_logging):
    monkeypatch.setenv("BNBENCH_LOG_FORMAT", "json")
    out = io.StringIO()
    logs.configure("INFO", stream=out)
    log = logging.getLogger("bnbench.test")
    with logs.job_context("job-123"):
        log.info("inside %s", "the job")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            log.exception("failed")
    log.warning("outside", extra={"worker": "w0@host"})
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["message"], r.get("job_id")) for r in lines] == [
        ("inside the job", "job-123"),
        ("failed", "job-123"),
        ("outside", None),
    ]
    assert "RuntimeError: boom" in lines[1]["exc"] and lines[2]["worker"] == "w0@host"
    assert {"ts", "level", "logger"} <= set(lines[0]) and lines[0]["level"] == "info"


def test_text_lines_end_with_the_job(monkeypatch, restore_root_logging):
    monkeypatch.setenv("BNBENCH_LOG_FORMAT", "text")
    out = io.StringIO()
    logs.configure("INFO", stream=out)
    with logs.job_context("job-9"):
        logging.getLogger("bnbench.test").info("hello")
    assert out.getvalue().rstrip().endswith("bnbench.test: hello [job job-9]")


def test_an_unknown_format_names_the_variable(monkeypatch):
    monkeypatch.setenv("BNBENCH_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="BNBENCH_LOG_FORMAT='xml' must be text or json"):
        logs.log_format()


def test_a_real_worker_logs_json_lines_with_the_job_id(queue_env, start_workers, tmp_path):
    (w,) = start_workers(1, env={"BNBENCH_LOG_FORMAT": "json"})
    job_id = submit(BenchSpec(**TINY))
    wait_until(
        lambda: {r["job_id"]: r["status"] for r in query_records()}.get(job_id) == "succeeded",
        60,
        "the job",
    )
    path = tmp_path / "logs" / f"{w.name}.log"
    wait_until(lambda: "succeeded" in path.read_text(), 10, "the log line")
    # Log records are JSON; text written around logging (Celery's root-user warning before
    # logging is set up, its shutdown notice) is not a record and stays as it is.
    records = [json.loads(line) for line in path.read_text().splitlines() if line[:1] == "{"]
    mine = [r["message"] for r in records if r.get("job_id") == job_id]
    assert f"job {job_id} started on {w.name}" in " ".join(mine)
    assert f"job {job_id} succeeded" in mine
    assert any(r["logger"].startswith("celery") for r in records)  # Celery's records too
