"""A shared broker is locked: a password and TLS come through the URL, certificates are checked."""

import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from kombu.exceptions import OperationalError

from core.spec.schema import BenchSpec
from core.store.read import query_records
from tests.services import TINY, free_port, wait_until
from worker.app import create_app
from worker.client import submit
from worker.settings import Settings

PASSWORD = "s3cret-for-tests"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def tls_redis(tmp_path):
    """Our own redis-server: TLS only (no plain port), a password, a CA of the test's own."""
    d = tmp_path / "tls"
    d.mkdir()
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
             "-out", "ca.crt", "-days", "1", "-subj", "/CN=bnbench-test-ca", cwd=d)  # fmt: skip
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr",
             "-subj", "/CN=127.0.0.1", cwd=d)  # fmt: skip
    (d / "ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "srv.crt", "-days", "1", "-extfile", "ext",
             cwd=d)  # fmt: skip
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", "srv.crt", "--tls-key-file", "srv.key",
         "--tls-ca-cert-file", "ca.crt", "--tls-auth-clients", "no",
         "--requirepass", PASSWORD, "--save", "", "--appendonly", "no", "--dir", str(d)],
        cwd=d, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    ping = ["redis-cli", "--tls", "--cacert", str(d / "ca.crt"), "-p", str(port),
            "--no-auth-warning", "-a", PASSWORD, "ping"]  # fmt: skip
    wait_until(lambda: b"PONG" in subprocess.run(ping, capture_output=True).stdout, 20, "redis")
    yield port, d / "ca.crt"
    proc.kill()
    proc.wait()


def test_rediss_urls_verify_the_certificate_and_plain_urls_need_no_tls():
    base = Settings.from_env()
    tls = replace(base, broker_url="rediss://:pw@h:6379/0", broker_ca_file="/etc/ca.pem")
    opts = tls.broker_ssl()
    assert opts["ssl_cert_reqs"].name == "CERT_REQUIRED" and opts["ssl_ca_certs"] == "/etc/ca.pem"
    assert opts["ssl_check_hostname"] is True
    assert replace(tls, broker_url="redis://h:6379/0").broker_ssl() is None


def test_a_job_runs_through_a_password_and_tls_protected_broker(
    queue_env, start_workers, monkeypatch, tls_redis
):
    port, ca = tls_redis
    monkeypatch.setenv("BNBENCH_BROKER_URL", f"rediss://:{PASSWORD}@127.0.0.1:{port}/0")
    monkeypatch.setenv("BNBENCH_BROKER_CA_FILE", str(ca))
    start_workers(1)
    job_id = submit(BenchSpec(**TINY))
    wait_until(
        lambda: {r["job_id"]: r["status"] for r in query_records()}.get(job_id) == "succeeded",
        90,
        "the job to finish through the TLS broker",
    )


def test_a_broker_certificate_from_an_unknown_ca_is_refused(monkeypatch, tls_redis):
    port, _ = tls_redis
    monkeypatch.setenv("BNBENCH_BROKER_URL", f"rediss://:{PASSWORD}@127.0.0.1:{port}/0")
    monkeypatch.delenv("BNBENCH_BROKER_CA_FILE", raising=False)  # the system CAs only
    app = create_app()
    with (
        pytest.raises(OperationalError, match="certificate verify failed"),
        app.connection_for_write() as conn,
    ):
        conn.ensure_connection(max_retries=1)


def test_a_wrong_broker_password_is_refused(monkeypatch, tls_redis):
    port, ca = tls_redis
    monkeypatch.setenv("BNBENCH_BROKER_URL", f"rediss://:wrong@127.0.0.1:{port}/0")
    monkeypatch.setenv("BNBENCH_BROKER_CA_FILE", str(ca))
    app = create_app()
    with (
        pytest.raises(OperationalError, match="invalid username-password pair"),
        app.connection_for_write() as conn,
    ):
        conn.ensure_connection(max_retries=1)
