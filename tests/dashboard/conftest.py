"""AppTest runs pages in this process, against a real SQLite file and the real Redis."""

from pathlib import Path

import pytest
import redis

from core.store.migrate import upgrade

VIEWS = Path(__file__).resolve().parents[2] / "dashboard"


def dashboard_database(tmp_path, monkeypatch, broker: str):
    """A migrated SQLite file and `broker` for the pages, with Streamlit's caches empty."""
    import streamlit as st

    url = f"sqlite:///{tmp_path / 'dash.db'}"
    monkeypatch.setenv("BNBENCH_DATABASE_URL", url)
    monkeypatch.setenv("BNBENCH_BROKER_URL", broker)
    monkeypatch.delenv("BNBENCH_DASHBOARD_PASSWORD", raising=False)
    upgrade(url)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield url
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def dash_db(tmp_path, monkeypatch, worker_id):
    index = 8 + (int(worker_id[2:]) % 8 if worker_id.startswith("gw") else 0)
    broker = f"redis://127.0.0.1:6379/{index}"
    redis.Redis.from_url(broker).flushdb()
    yield from dashboard_database(tmp_path, monkeypatch, broker)


def page(name: str):
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(VIEWS / "views" / f"{name}.py"), default_timeout=60)


def app():
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(VIEWS / "app.py"), default_timeout=60)


def baseline_picker(at):
    """Compare's baseline selectbox: its key changes with the jobs compared."""
    return next(w for w in at.selectbox if w.label.startswith("Baseline for % deltas"))
