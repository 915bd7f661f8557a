"""`bnbench up` on embedded defaults: no Redis, no server, SQLite; the demo group finishes."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

from sqlalchemy import delete
from sqlalchemy.exc import OperationalError

from core.config import dashboard_url
from core.store.db import session_scope
from core.store.read import ResultFilter, query_records
from core.store.tables import Worker
from core.store.workers import list_workers
from tests.services import FAST_TIMERS, free_port, wait_until

BNBENCH = [sys.executable, "-c", "from cli import main; main()"]


def records(**filters):
    """Matching jobs, or [] while `up` has not created the database yet."""
    try:
        return query_records(ResultFilter(**filters))
    except OperationalError:
        return []


def registered():
    """The registered workers, or [] while `up` has not created the database yet."""
    try:
        return list_workers()
    except OperationalError:
        return []


def second_worker_on_the_same_host_keeps_the_first_registered(env):
    """Issue 14: `bnbench worker` beside `bnbench up` was named cpu0@host too, and deleted
    up's row when it stopped; and a deleted row stayed deleted while the worker ran."""
    [first] = list_workers()
    second = subprocess.Popen(
        [*BNBENCH, "worker", "--gpus", "none", "--cpu-workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        both = wait_until(lambda: len(list_workers()) == 2 and list_workers(), 60, "2 workers")
        assert len({w.name for w in both}) == 2
    finally:
        os.killpg(second.pid, signal.SIGINT)
        second.wait(60)
    assert [w.name for w in list_workers()] == [first.name]
    with session_scope() as s:  # deleted by hand: the next heartbeat registers it again
        s.execute(delete(Worker))
    wait_until(lambda: [w.name for w in list_workers()] == [first.name], 10, "re-register")


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
    taken = socket.socket()  # the port asked for is taken: up must say so and use another
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    asked = taken.getsockname()[1]
    up = subprocess.Popen(
        [*BNBENCH, "up", "--cpu-workers", "1", "--port", str(asked)],
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
        second_worker_on_the_same_host_keeps_the_first_registered(env)
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
        taken.close()
    assert "bnbench is up" in out and "(embedded)" in out and "demo" in out
    dash_port = int(re.search(r"the dashboard uses (\d+)", out).group(1))
    assert dash_port != asked and f"port {asked} is taken" in out
    assert f"dashboard   http://127.0.0.1:{dash_port}" in out
    cli = re.search(r"Watch: +(\S+) jobs --watch", out).group(1)
    assert shutil.which(cli) or Path(cli).is_file(), cli  # a command the user can type
    assert "time limit" in out and "spec limits" in out  # the startup summary
    assert list_workers() == []  # workers unregistered on a clean stop


def test_a_hangup_stops_up_its_workers_and_its_dashboard_as_ctrl_c_does(tmp_path, monkeypatch):
    """Closing the terminal sends SIGHUP to `up` alone: its workers and dashboard run in
    sessions of their own. It used to die at once and leave them running, the worker still
    registered. While it runs, links printed elsewhere use its dashboard's address."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("BNBENCH_BROKER_URL", "BNBENCH_DATABASE_URL", "BNBENCH_DASHBOARD_URL")
    }
    env.update(
        FAST_TIMERS,
        BNBENCH_HOME=str(tmp_path / "home"),
        BNBENCH_EMBEDDED_BROKER_PORT=str(free_port()),
    )
    monkeypatch.setenv("BNBENCH_HOME", env["BNBENCH_HOME"])
    monkeypatch.delenv("BNBENCH_DASHBOARD_URL", raising=False)
    up = subprocess.Popen(
        [*BNBENCH, "up", "--cpu-workers", "1", "--no-demo", "--port", str(free_port())],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until(lambda: len(registered()) == 1, 120, "the worker to register")
        served = wait_until(
            lambda: dashboard_url().startswith("http://127.0.0.1:") and dashboard_url(),
            120,
            "the dashboard's address",
        )
        os.kill(up.pid, signal.SIGHUP)
        up.wait(90)
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
    assert list_workers() == []  # stopped and unregistered, not orphaned
    assert dashboard_url() == "http://localhost:8501"
    port = int(served.rsplit(":", 1)[1])
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0  # the dashboard stopped too
