"""`bnbench doctor` against real databases and real Redis servers, healthy and broken."""

import json
import subprocess
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from cli import main
from core.store.db import session_scope
from core.store.migrate import alembic_config, head_revision, upgrade
from core.store.tables import Worker, utcnow
from core.store.workers import register_worker
from tests.services import free_port, wait_until
from worker.doctor import FAIL, OK, WARN, classify_gpus, masked
from worker.embedded import EmbeddedBroker, port_is_open

SHARED_REDIS = "redis://127.0.0.1:6379/15"  # only PINGed, never written to
PASSWORD = "s3cret"


def gpu_status() -> str:
    import torch

    return OK if torch.cuda.is_available() else WARN


def doctor(code: int) -> dict[str, dict]:
    """Run `bnbench doctor --json`, check its exit code, return its rows by check name."""
    res = CliRunner().invoke(main, ["doctor", "--json"])
    assert res.exit_code == code, res.output
    rows = json.loads(res.stdout)
    return {row["name"]: row for row in rows}


def doctor_table(code: int) -> str:
    res = CliRunner().invoke(main, ["doctor"], env={"COLUMNS": "250"})
    assert res.exit_code == code, res.output
    return res.stdout


def fresh_worker(url: str, name: str = "cpu0@doctor-test") -> None:
    register_worker(name, ["cpu"], None, url)


@pytest.fixture
def sqlite_db(tmp_path, monkeypatch):
    """A SQLite file migrated to head."""
    url = f"sqlite:///{tmp_path / 'doctor.db'}"
    monkeypatch.setenv("BNBENCH_DATABASE_URL", url)
    upgrade(url)
    return url


@pytest.fixture
def healthy(sqlite_db, monkeypatch):
    """Migrated database, the shared Redis as broker, one worker with a fresh heartbeat."""
    monkeypatch.setenv("BNBENCH_BROKER_URL", SHARED_REDIS)
    fresh_worker(sqlite_db)
    return sqlite_db


@pytest.fixture
def locked_redis(tmp_path):
    """A redis-server of this test's own that wants PASSWORD."""
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--requirepass", PASSWORD,
         "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until(lambda: port_is_open(port), 20, "redis-server to listen")
        yield port
    finally:
        proc.kill()
        proc.wait()


def test_a_healthy_deployment_passes_every_check_but_the_gpu_here(db_url, monkeypatch):
    monkeypatch.setenv("BNBENCH_BROKER_URL", SHARED_REDIS)
    fresh_worker(db_url)
    rows = doctor(0)
    assert list(rows) == [
        "configuration", "database", "migrations", "broker", "workers", "refused messages", "gpu",
    ]  # fmt: skip
    assert {name: row["status"] for name, row in rows.items()} == {
        "configuration": OK,
        "database": OK,
        "migrations": OK,
        "broker": OK,
        "workers": OK,
        "refused messages": OK,
        "gpu": gpu_status(),
    }
    assert SHARED_REDIS in rows["configuration"]["detail"]
    assert head_revision() in rows["migrations"]["detail"]
    assert "cpu0@doctor-test" in rows["workers"]["detail"]
    assert all(row["fix"] for row in rows.values() if row["status"] != OK)
    table = doctor_table(0)
    assert "configuration" in table and "cpu0@doctor-test" in table


def test_json_rows_have_name_status_detail_and_fix(healthy):
    res = CliRunner().invoke(main, ["doctor", "--json"])
    rows = json.loads(res.stdout)
    assert all(set(row) == {"name", "status", "detail", "fix"} for row in rows)
    assert {row["status"] for row in rows} <= {OK, WARN, FAIL}


def test_an_empty_database_file_needs_db_upgrade(tmp_path, monkeypatch):
    path = tmp_path / "never-upgraded.db"
    path.touch()
    monkeypatch.setenv("BNBENCH_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("BNBENCH_BROKER_URL", SHARED_REDIS)
    rows = doctor(1)
    assert rows["database"]["status"] == OK
    assert rows["migrations"]["status"] == FAIL
    assert "no bnbench tables" in rows["migrations"]["detail"]
    assert "`bnbench db upgrade`" in rows["migrations"]["fix"]
    assert rows["workers"]["status"] == WARN and "not checked" in rows["workers"]["detail"]
    assert "`bnbench db upgrade`" in doctor_table(1)


def test_a_database_one_revision_behind_needs_db_upgrade(tmp_path, monkeypatch):
    from alembic.script import ScriptDirectory

    previous = ScriptDirectory.from_config(alembic_config()).get_revision(head_revision())
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, previous.down_revision)
    monkeypatch.setenv("BNBENCH_DATABASE_URL", url)
    row = doctor(1)["migrations"]
    assert row["status"] == FAIL
    assert f"at {previous.down_revision}, behind head ({head_revision()})" in row["detail"]
    assert "`bnbench db upgrade`" in row["fix"]


def test_a_missing_sqlite_file_is_reported_and_not_created(tmp_path, monkeypatch):
    path = tmp_path / "nowhere" / "bnbench.db"
    monkeypatch.setenv("BNBENCH_DATABASE_URL", f"sqlite:///{path}")
    row = doctor(1)["database"]
    assert row["status"] == FAIL and str(path) in row["detail"]
    assert "`bnbench db upgrade`" in row["fix"]
    assert not path.exists() and not path.parent.exists()


def test_an_unreachable_database_fails_and_names_the_variable(monkeypatch):
    monkeypatch.setenv("BNBENCH_DATABASE_URL", "postgresql://nobody:hunter2@127.0.0.1:1/none")
    rows = doctor(1)
    assert "hunter2" not in json.dumps(rows)
    assert rows["database"]["status"] == FAIL
    assert "127.0.0.1" in rows["database"]["detail"]
    assert "BNBENCH_DATABASE_URL" in rows["database"]["fix"]
    assert rows["migrations"]["status"] == rows["workers"]["status"] == WARN


def test_an_unreachable_broker_fails(healthy, monkeypatch):
    monkeypatch.setenv("BNBENCH_BROKER_URL", "redis://127.0.0.1:1/0")
    row = doctor(1)["broker"]
    assert row["status"] == FAIL and "127.0.0.1:1" in row["detail"]
    assert "BNBENCH_BROKER_URL" in row["fix"]


def test_a_malformed_broker_url_fails_without_echoing_it(healthy, monkeypatch):
    monkeypatch.setenv("BNBENCH_BROKER_URL", "redis://:hunter2@127.0.0.1:notaport/0")
    rows = doctor(1)
    assert rows["broker"]["status"] == FAIL and "BNBENCH_BROKER_URL" in rows["broker"]["fix"]
    assert "hunter2" not in json.dumps(rows)


def test_the_embedded_broker_down_is_only_a_warning(sqlite_db, monkeypatch):
    monkeypatch.delenv("BNBENCH_BROKER_URL", raising=False)
    port = free_port()
    monkeypatch.setenv("BNBENCH_EMBEDDED_BROKER_PORT", str(port))
    fresh_worker(sqlite_db)
    rows = doctor(0)
    assert "embedded" in rows["configuration"]["detail"]
    assert rows["broker"]["status"] == WARN
    assert f"127.0.0.1:{port}" in rows["broker"]["detail"]
    assert "`bnbench up`" in rows["broker"]["fix"]
    assert {rows[n]["status"] for n in ("database", "migrations", "workers")} == {OK}


def test_the_embedded_broker_up_is_ok(sqlite_db, monkeypatch):
    port = free_port()
    monkeypatch.setenv("BNBENCH_EMBEDDED_BROKER_PORT", str(port))
    broker = EmbeddedBroker(port).start()
    try:
        row = doctor(0)["broker"]
    finally:
        broker.stop()
    assert row["status"] == OK and "embedded" in row["detail"]


def test_a_wrong_broker_password_fails_and_no_password_is_ever_printed(
    sqlite_db, monkeypatch, locked_redis
):
    fresh_worker(sqlite_db)
    monkeypatch.setenv("BNBENCH_BROKER_URL", f"redis://:wrong-pw@127.0.0.1:{locked_redis}/0")
    row = doctor(1)["broker"]
    assert row["status"] == FAIL and "password" in row["fix"]
    assert "wrong-pw" not in doctor_table(1)

    monkeypatch.setenv("BNBENCH_BROKER_URL", f"redis://127.0.0.1:{locked_redis}/0")
    row = doctor(1)["broker"]
    assert row["status"] == FAIL and "requires a password" in row["detail"]

    monkeypatch.setenv("BNBENCH_BROKER_URL", f"redis://:{PASSWORD}@127.0.0.1:{locked_redis}/0")
    rows = doctor(0)
    assert rows["broker"]["status"] == OK
    assert f"redis://:***@127.0.0.1:{locked_redis}/0" in rows["configuration"]["detail"]
    assert PASSWORD not in json.dumps(rows)
    assert PASSWORD not in doctor_table(0)


def test_a_stale_worker_is_a_warning_that_names_its_host(sqlite_db, monkeypatch):
    monkeypatch.setenv("BNBENCH_BROKER_URL", SHARED_REDIS)
    fresh_worker(sqlite_db, "cpu0@alive")
    fresh_worker(sqlite_db, "cpu0@gone")
    with session_scope(sqlite_db) as s:
        s.execute(
            update(Worker)
            .where(Worker.name == "cpu0@gone")
            .values(heartbeat_at=utcnow() - timedelta(minutes=2))
        )
    row = doctor(0)["workers"]
    assert row["status"] == WARN
    assert "1 of 2 without a heartbeat for over 45s" in row["detail"]
    assert "cpu0@gone" in row["detail"] and "stale" in row["detail"]
    assert "`bnbench worker`" in row["fix"]


def test_no_workers_is_a_warning(sqlite_db, monkeypatch):
    monkeypatch.setenv("BNBENCH_BROKER_URL", SHARED_REDIS)
    row = doctor(0)["workers"]
    assert row["status"] == WARN and "`bnbench worker`" in row["fix"]


@pytest.mark.parametrize(
    "name, value",
    [
        ("BNBENCH_HEARTBEAT_S", "abc"),
        ("BNBENCH_STALE_AFTER_S", "-1"),
        ("BNBENCH_EMBEDDED_BROKER_PORT", "http"),
    ],
)
def test_a_bad_setting_fails_the_configuration_and_names_it(healthy, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    rows = doctor(1)
    assert rows["configuration"]["status"] == FAIL
    assert name in rows["configuration"]["detail"] and name in rows["configuration"]["fix"]
    assert rows["database"]["status"] == OK
    assert rows["broker"]["status"] == WARN and "not checked" in rows["broker"]["detail"]


@pytest.mark.parametrize(
    "name, value",
    [
        ("BNBENCH_MAX_EPOCHS", "ten"),
        ("BNBENCH_LOG_FORMAT", "xml"),
        ("BNBENCH_DASHBOARD_PASSWORD_FILE", "/nonexistent/secret"),
        ("BNBENCH_BROKER_CA_FILE", "/nonexistent/ca.pem"),
    ],
)
def test_settings_read_later_by_workers_and_the_dashboard_are_checked_too(
    healthy, monkeypatch, name, value
):
    monkeypatch.setenv(name, value)
    rows = doctor(1)
    assert rows["configuration"]["status"] == FAIL
    assert name in rows["configuration"]["detail"] and name in rows["configuration"]["fix"]
    assert rows["database"]["status"] == OK


def test_an_unloadable_database_url_fails_without_echoing_it(monkeypatch):
    monkeypatch.setenv("BNBENCH_DATABASE_URL", "nodriver://user:hunter2@host/db")
    rows = doctor(1)
    assert rows["configuration"]["status"] == FAIL
    assert "BNBENCH_DATABASE_URL" in rows["configuration"]["fix"]
    assert "hunter2" not in json.dumps(rows)


@pytest.mark.parametrize(
    "url, shown",
    [
        ("redis://:p%40ss@h:6379/0", "redis://:***@h:6379/0"),
        (
            "rediss://user:pw@h:6380/1?ssl_cert_reqs=required",
            "rediss://user:***@h:6380/1?ssl_cert_reqs=required",
        ),
        ("redis://h:6379/0", "redis://h:6379/0"),
        ("unix:///run/redis.sock", "unix:///run/redis.sock"),
        # unencoded '/', '?', '#' and '@' in a password: the last '@' ends it
        ("redis://:ab/cd@127.0.0.1:1/0", "redis://:***@127.0.0.1:1/0"),
        ("redis://:a?b#c@h:6379/0", "redis://:***@h:6379/0"),
        ("postgresql://bnbench:b@b@postgres:5432/db", "postgresql://bnbench:***@postgres:5432/db"),
    ],
)
def test_urls_are_shown_with_the_password_masked(url, shown):
    assert masked(url) == shown


@pytest.mark.parametrize(
    "devices, smi, visible, cuda, status, hint",
    [
        (["NVIDIA H100"], [], None, "12.8", OK, "0: NVIDIA H100"),
        ([], [], None, None, WARN, "CPU jobs only"),
        ([], ["NVIDIA H100"], None, None, WARN, "Install a CUDA build of torch 2.13.0"),
        ([], ["NVIDIA H100"], "", "12.8", WARN, "Unset CUDA_VISIBLE_DEVICES"),
        ([], ["NVIDIA H100"], None, "12.8", WARN, "NVIDIA driver that supports CUDA 12.8"),
    ],
)
def test_gpus_torch_sees_are_compared_with_nvidia_smi(devices, smi, visible, cuda, status, hint):
    check = classify_gpus("2.13.0+cu128", cuda, devices, smi, visible)
    assert check.status == status
    assert hint in check.detail + check.fix


@pytest.mark.parametrize(
    "name, url, secret",
    [
        ("BNBENCH_DATABASE_URL", "postgresql://bnbench:top@secret9@127.0.0.1:1/db", "secret9"),
        ("BNBENCH_BROKER_URL", "redis://:ab/secret9@127.0.0.1:1/0", "secret9"),
    ],
)
def test_an_unencoded_password_is_refused_and_never_printed(monkeypatch, name, url, secret):
    """Drivers split such URLs elsewhere and quote the piece they took for a host or port."""
    monkeypatch.setenv(name, url)
    res = CliRunner().invoke(main, ["doctor", "--json"])
    assert res.exit_code == 1
    rows = {r["name"]: r for r in json.loads(res.stdout)}
    assert "must be percent-encoded" in rows["configuration"]["detail"]
    assert secret not in res.output
