"""`bnbench dashboard` opens to the network only behind a login."""

from click.testing import CliRunner

from cli import main
from dashboard.launch import default_host


def test_a_network_address_without_a_login_is_refused(monkeypatch, tmp_path):
    monkeypatch.delenv("BNBENCH_DASHBOARD_PASSWORD", raising=False)
    monkeypatch.chdir(tmp_path)  # no .streamlit/secrets.toml here
    res = CliRunner().invoke(main, ["dashboard", "--host", "0.0.0.0"])
    assert res.exit_code == 2
    assert "with no login; set BNBENCH_DASHBOARD_PASSWORD" in res.stderr
    assert "--insecure" in res.stderr


def test_the_default_address_is_local_without_a_login_and_open_with_one(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BNBENCH_DASHBOARD_PASSWORD", raising=False)
    assert default_host() == "127.0.0.1"
    monkeypatch.setenv("BNBENCH_DASHBOARD_PASSWORD", "s3cret")
    assert default_host() == "0.0.0.0"


def test_an_empty_password_file_is_named_not_a_traceback(monkeypatch, tmp_path):
    secret = tmp_path / "password"
    secret.write_text("")
    monkeypatch.delenv("BNBENCH_DASHBOARD_PASSWORD", raising=False)
    monkeypatch.setenv("BNBENCH_DASHBOARD_PASSWORD_FILE", str(secret))
    res = CliRunner().invoke(main, ["dashboard"])
    assert res.exit_code == 2 and "BNBENCH_DASHBOARD_PASSWORD_FILE=" in res.stderr
