"""The startup summary of `bnbench up` and `bnbench worker`: what runs where, and no secret."""

from dataclasses import replace

import pytest
from click.testing import CliRunner

from cli import main
from core.store.migrate import upgrade
from core.store.read import query_records
from worker.settings import Settings
from worker.summary import deployment_lines


def test_the_summary_names_the_stores_limits_and_log_format_without_the_password(monkeypatch):
    monkeypatch.setenv("BNBENCH_DATABASE_URL", "postgresql://bnbench:dbpw@db:5432/bnbench")
    monkeypatch.setenv("BNBENCH_MAX_EPOCHS", "50")
    monkeypatch.setenv("BNBENCH_LOG_FORMAT", "json")
    settings = replace(Settings.from_env(), broker_url="rediss://:brokerpw@redis:6379/0")
    rows = dict(deployment_lines(settings))
    text = " ".join(rows.values())
    assert "dbpw" not in text and "brokerpw" not in text
    assert rows["broker"] == "rediss://:***@redis:6379/0 (TLS, certificate verified)"
    assert rows["database"] == "postgresql+psycopg://bnbench:***@db:5432/bnbench"
    assert rows["spec limits"] == "epochs <= 50"
    assert rows["logs"] == "json (BNBENCH_LOG_FORMAT)"
    assert rows["time limit"].startswith(f"{settings.job_time_limit_s:g} s per job")


def test_an_embedded_broker_is_labelled_so():
    rows = dict(
        deployment_lines(
            replace(Settings.from_env(), broker_url="redis://127.0.0.1:6390/0"), embedded=True
        )
    )
    assert rows["broker"] == "redis://127.0.0.1:6390/0 (embedded)"
    assert rows["spec limits"] == "schema maxima only"


@pytest.mark.parametrize("command", [["worker", "--cpu-workers", "1"], ["up", "--no-demo"]])
def test_a_bad_setting_stops_worker_and_up_before_anything_starts(monkeypatch, command):
    monkeypatch.setenv("BNBENCH_LOG_FORMAT", "xml")
    res = CliRunner().invoke(main, command)
    assert res.exit_code == 2
    assert "BNBENCH_LOG_FORMAT='xml' must be text or json" in res.stderr


def test_a_bad_setting_is_named_by_submit(monkeypatch):
    upgrade()
    monkeypatch.setenv("BNBENCH_MAX_TRAIN_SAMPLES", "-3")
    res = CliRunner().invoke(main, ["submit", "--preset", "smoke"])
    assert res.exit_code == 2 and "BNBENCH_MAX_TRAIN_SAMPLES='-3' must be at least 1" in res.stderr
    assert query_records() == []
