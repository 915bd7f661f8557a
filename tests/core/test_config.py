"""Secrets come from the environment or from files it names, as Docker secrets are mounted."""

import pytest

from core.config import DASHBOARD_URL_FILE, dashboard_url, env_or_file
from core.errors import ConfigError
from core.store.db import database_url


def test_the_variable_itself_wins_over_a_file(monkeypatch, tmp_path):
    f = tmp_path / "secret"
    f.write_text("from-file\n")
    monkeypatch.setenv("BNBENCH_X", "from-env")
    monkeypatch.setenv("BNBENCH_X_FILE", str(f))
    assert env_or_file("BNBENCH_X") == "from-env"


def test_a_file_is_read_without_its_trailing_newline(monkeypatch, tmp_path):
    f = tmp_path / "secret"
    f.write_text("p@ss word\n")
    monkeypatch.delenv("BNBENCH_X", raising=False)
    monkeypatch.setenv("BNBENCH_X_FILE", str(f))
    assert env_or_file("BNBENCH_X") == "p@ss word"


def test_neither_set_is_none(monkeypatch):
    monkeypatch.delenv("BNBENCH_X", raising=False)
    monkeypatch.delenv("BNBENCH_X_FILE", raising=False)
    assert env_or_file("BNBENCH_X") is None


def test_an_unreadable_file_names_the_variable(monkeypatch, tmp_path):
    monkeypatch.delenv("BNBENCH_X", raising=False)
    monkeypatch.setenv("BNBENCH_X_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match=r"BNBENCH_X_FILE=.*missing: cannot read it"):
        env_or_file("BNBENCH_X")


def test_the_database_url_can_come_from_a_secret_file(monkeypatch, tmp_path):
    f = tmp_path / "db_url"
    f.write_text("postgresql://bnbench:pw@db:5432/bnbench\n")
    monkeypatch.delenv("BNBENCH_DATABASE_URL", raising=False)
    monkeypatch.setenv("BNBENCH_DATABASE_URL_FILE", str(f))
    assert database_url() == "postgresql+psycopg://bnbench:pw@db:5432/bnbench"


def test_an_empty_file_is_an_error_not_a_silent_default(monkeypatch, tmp_path):
    f = tmp_path / "db_url"
    f.write_text("\n")
    monkeypatch.delenv("BNBENCH_DATABASE_URL", raising=False)
    monkeypatch.setenv("BNBENCH_DATABASE_URL_FILE", str(f))
    with pytest.raises(ConfigError, match=r"BNBENCH_DATABASE_URL_FILE=.* is empty"):
        database_url()


def test_links_use_the_variable_else_the_dashboard_up_serves_else_the_default(
    monkeypatch, tmp_path
):
    monkeypatch.setenv("BNBENCH_HOME", str(tmp_path))
    monkeypatch.delenv("BNBENCH_DASHBOARD_URL", raising=False)
    assert dashboard_url() == "http://localhost:8501"
    (tmp_path / DASHBOARD_URL_FILE).write_text("http://127.0.0.1:8651\n")  # up moved ports
    assert dashboard_url() == "http://127.0.0.1:8651"
    monkeypatch.setenv("BNBENCH_DASHBOARD_URL", "https://bnbench.example.com")
    assert dashboard_url() == "https://bnbench.example.com"
