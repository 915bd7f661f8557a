import pytest

from core.db import dispose_engines


@pytest.fixture(autouse=True)
def isolated_database(tmp_path, monkeypatch):
    """Every test gets its own default SQLite database; nothing touches ~/.bnbench."""
    monkeypatch.setenv("BNBENCH_HOME", str(tmp_path / "bnbench-home"))
    monkeypatch.delenv("BNBENCH_DATABASE_URL", raising=False)
    yield
    dispose_engines()
