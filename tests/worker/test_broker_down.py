"""Submitting with no broker: a clear message, exit 1, and no job row, so a retry is safe.

Each test runs the real `bnbench` executable, as a user would, against a port nothing
listens on (or the embedded broker's, with no `bnbench up` running).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.store.read import query_records
from tests.services import free_port

BNBENCH = str(Path(sys.executable).with_name("bnbench"))


@pytest.fixture
def no_broker(tmp_path, monkeypatch):
    db = f"sqlite:///{tmp_path / 'down.db'}"
    url = f"redis://127.0.0.1:{free_port()}/0"
    monkeypatch.setenv("BNBENCH_DATABASE_URL", db)
    return {**os.environ, "BNBENCH_DATABASE_URL": db, "BNBENCH_BROKER_URL": url}, url


def bnbench(env, *args):
    return subprocess.run([BNBENCH, *args], env=env, capture_output=True, text=True, timeout=120)


def test_submit_with_the_broker_down_names_it_and_records_nothing(no_broker):
    env, url = no_broker
    for _ in range(2):  # the second try must not find a leftover row either
        res = bnbench(env, "submit", "--preset", "tiny")
        assert res.returncode == 1, res.stderr
        assert "Traceback" not in res.stderr
        assert url in res.stderr and "Nothing was submitted" in res.stderr
        assert res.stdout == ""
        assert query_records() == []


def test_a_sweep_with_the_broker_down_records_none_of_it(no_broker):
    env, _ = no_broker
    res = bnbench(env, "submit", "--preset", "tiny", "--grid", "dropout_p=0,0.5")
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert query_records() == []


def test_a_suite_with_the_broker_down_records_no_run(no_broker):
    from core.store.suite_runs import recent_runs

    env, _ = no_broker
    res = bnbench(env, "suite", "run", "article", "--profile", "ci")
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr and "Nothing was submitted" in res.stderr
    assert query_records() == [] and recent_runs() == []


def test_the_embedded_broker_not_running_says_start_bnbench_up(tmp_path, monkeypatch):
    db = f"sqlite:///{tmp_path / 'down.db'}"
    monkeypatch.setenv("BNBENCH_DATABASE_URL", db)
    env = {k: v for k, v in os.environ.items() if k != "BNBENCH_BROKER_URL"}
    env.update(BNBENCH_DATABASE_URL=db, BNBENCH_HOME=str(tmp_path / "home"))
    res = bnbench(env, "submit", "--preset", "tiny")
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert "bnbench up" in res.stderr
    assert query_records() == []


def test_retry_with_the_broker_down_changes_nothing(no_broker, monkeypatch):
    from core.spec.schema import BenchSpec
    from core.store.db import session_scope
    from core.store.jobs import new_job
    from core.store.migrate import upgrade

    env, _ = no_broker
    upgrade(env["BNBENCH_DATABASE_URL"])
    job = new_job(BenchSpec(), queue="cpu", status="failed")
    with session_scope() as s:
        s.add(job)
    res = bnbench(env, "retry", job.id[:8])
    assert res.returncode == 1 and "Traceback" not in res.stderr and "broker" in res.stderr
    [rec] = query_records()
    assert (rec["status"], rec["attempt"]) == ("failed", job.attempt)
