"""Real Redis, real worker processes, a real SQLite file shared by all of them."""

import contextlib
import os
import socket
import subprocess
import time

import pytest
import redis

from core.spec.presets import preset
from core.store.migrate import upgrade
from worker.launcher import WorkerProcess, plan_workers

REDIS = os.environ.get("BNBENCH_TEST_REDIS", "redis://127.0.0.1:6379")
FAST_TIMERS = {
    "BNBENCH_HEARTBEAT_S": "0.5",
    "BNBENCH_STALE_AFTER_S": "4",
    "BNBENCH_RECONCILE_EVERY_S": "1",
    "BNBENCH_REQUEUE_AFTER_S": "3",
    "BNBENCH_CANCEL_GRACE_S": "3",
}
TINY = preset("tiny")
LONG = dict(TINY, epochs=300, synthetic_samples=2048, width=64)  # about a minute
MEDIUM = dict(LONG, epochs=25)  # about 6 s on 2 cores


CHROMIUM = "/usr/bin/chromium"  # Debian's; Playwright's own download is not reachable here
# Without the background-networking flags Chromium keeps dialing out of a closed network.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def wait_until(predicate, timeout_s: float, what: str, interval_s: float = 0.2):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(worker_id):
    """A Redis database index of this test process's own, flushed before and after."""
    index = 8 + (int(worker_id[2:]) % 8 if worker_id.startswith("gw") else 0)
    url = f"{REDIS}/{index}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def queue_env(tmp_path, monkeypatch, redis_url):
    """Broker, database and fast reconciler timers, in this process and for workers."""
    db = f"sqlite:///{tmp_path / 'queue.db'}"
    env = {"BNBENCH_DATABASE_URL": db, "BNBENCH_BROKER_URL": redis_url, **FAST_TIMERS}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    upgrade(db)
    return env


@pytest.fixture
def start_workers(tmp_path):
    """Start CPU workers as real processes; all are stopped at the end of the test."""
    started: list[WorkerProcess] = []

    def start(
        n: int = 1,
        queues: list[str] | None = None,
        prefix: str = "w",
        env: dict | None = None,
        wait: bool = True,
    ) -> list[WorkerProcess]:
        from core.store.workers import list_workers

        plan = plan_workers("none", n, queues, base_env={**os.environ, **(env or {})})
        for i, w in enumerate(plan):
            w.name = f"{prefix}{len(started) + i}"
        for w in plan:
            w.start("info", str(tmp_path / "logs"))
        started.extend(plan)
        if wait:
            names = {w.name for w in plan}
            wait_until(
                lambda: names <= {r.name.split("@")[0] for r in list_workers()},
                60,
                f"workers {sorted(names)} to register",
            )
        return plan

    yield start
    for w in started:
        if w.proc and w.proc.poll() is None:
            os.killpg(w.proc.pid, 15)
    for w in started:
        if w.proc:
            try:
                w.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(w.proc.pid, 9)


class RedisServer:
    """A redis-server of the test's own, with no persistence: a restart empties it."""

    def __init__(self, data_dir):
        self.port = free_port()
        self.cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--dir", str(data_dir)]  # fmt: skip
        self.proc: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL)
        ping = ["redis-cli", "-p", str(self.port), "ping"]
        wait_until(lambda: subprocess.run(ping, capture_output=True).stdout.strip() == b"PONG",
                   20, "redis-server")  # fmt: skip

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()

    def restart(self) -> None:
        """Killed and started again: every message it held is gone."""
        self.stop()
        self.start()


@contextlib.contextmanager
def redis_server(data_dir):
    server = RedisServer(data_dir)
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def chromium_page(height: int = 1000):
    """A page of Debian's headless Chromium, 1400 wide; actions time out after 30 s, and
    `expect` waits 15 s: a page's first render on a 2-core machine busy with the rest of the
    suite took over playwright's default 5 s."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=15_000)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": height})
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()


@contextlib.contextmanager
def running_dashboard(log_dir):
    """`bnbench dashboard` on a free port with this process's environment; yields its URL."""
    from dashboard.launch import start

    port = free_port()
    proc = start("127.0.0.1", port, log_dir / "dashboard.log", env=dict(os.environ))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: dashboard_healthy(base), 60, "the dashboard")
        yield base
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(20)


def dashboard_healthy(base_url: str) -> bool:
    """True once the Streamlit server at base_url answers its health check."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as r:
            return r.read() == b"ok"
    except OSError:
        return False
