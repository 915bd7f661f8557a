"""`bnbench up` on embedded defaults: no Redis, no server, SQLite; the demo group finishes."""

import os
import signal
import subprocess
import sys

from sqlalchemy.exc import OperationalError

from core.lifecycle import list_workers
from core.results import ResultFilter, query_records
from tests.services import FAST_TIMERS, dashboard_healthy, free_port, wait_until

BNBENCH = [sys.executable, "-c", "from core.cli import main; main()"]


def records(**filters):
    """Matching jobs, or [] while `up` has not created the database yet."""
    try:
        return query_records(ResultFilter(**filters))
    except OperationalError:
        return []


def test_up_runs_the_demo_and_takes_submissions_without_redis(tmp_path, monkeypatch):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("BNBENCH_BROKER_URL", "BNBENCH_DATABASE_URL")
    }
    env.update(
        FAST_TIMERS,
        BNBENCH_HOME=str(tmp_path / "home"),
        BNBENCH_EMBEDDED_BROKER_PORT=str(free_port()),
    )
    monkeypatch.setenv("BNBENCH_HOME", env["BNBENCH_HOME"])
    monkeypatch.setenv("BNBENCH_EMBEDDED_BROKER_PORT", env["BNBENCH_EMBEDDED_BROKER_PORT"])
    dash_port = free_port()
    while str(dash_port) == env["BNBENCH_EMBEDDED_BROKER_PORT"]:  # closed sockets get reused
        dash_port = free_port()
    up = subprocess.Popen(
        [*BNBENCH, "up", "--cpu-workers", "1", "--port", str(dash_port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        demo = wait_until(lambda: records(label="net"), 120, "the demo group to be submitted")
        group = demo[0]["group_id"]
        wait_until(
            lambda: [r["status"] for r in records(group_id=group)] == ["succeeded"] * 3,
            150,
            "the article's three networks to finish",
        )
        assert {r["label"] for r in records(group_id=group)} == {"simplenet", "dropoutnet", "net"}
        wait_until(
            lambda: dashboard_healthy(f"http://127.0.0.1:{dash_port}"),
            60,
            "the dashboard to answer",
        )
        sub = subprocess.run(
            [*BNBENCH, "submit", "--preset", "smoke", "--device", "cpu", "--wait"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert sub.returncode == 0, sub.stderr
        job_id = sub.stdout.strip()
        assert query_records(ResultFilter(job_ids=(job_id,)))[0]["status"] == "succeeded"
    finally:
        os.killpg(up.pid, signal.SIGINT)
        out, _ = up.communicate(timeout=60)
    assert "bnbench is up" in out and "(embedded)" in out and "demo" in out
    assert f"dashboard   http://127.0.0.1:{dash_port}" in out
    assert "time limit" in out and "spec limits" in out  # the startup summary
    assert list_workers() == []  # workers unregistered on a clean stop
