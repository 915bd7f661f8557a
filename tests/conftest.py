import os
import uuid

import pytest
from sqlalchemy import create_engine, text

from core.store.db import dispose_engines
from core.store.migrate import upgrade
from tests.services import queue_env, redis_url, start_workers  # noqa: F401  (fixtures)

PG_URL = os.environ.get("BNBENCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(autouse=True)
def isolated_database(tmp_path, monkeypatch):
    """Every test gets its own default SQLite database; nothing touches ~/.bnbench."""
    monkeypatch.setenv("BNBENCH_HOME", str(tmp_path / "bnbench-home"))
    monkeypatch.delenv("BNBENCH_DATABASE_URL", raising=False)
    monkeypatch.delenv("BNBENCH_BROKER_URL", raising=False)
    yield
    dispose_engines()


def pg_schema_url(schema: str) -> str:
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


@pytest.fixture
def empty_db_url(request, tmp_path, monkeypatch):
    """A fresh, empty database: a SQLite file, or a schema of its own on the real PostgreSQL."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'results.db'}"
        admin = schema = None
    else:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = pg_schema_url(schema)
    monkeypatch.setenv("BNBENCH_DATABASE_URL", url)
    yield url
    dispose_engines()
    if admin is not None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def db_url(empty_db_url):
    """The same, migrated to head."""
    upgrade(empty_db_url)
    return empty_db_url


def pytest_generate_tests(metafunc):
    """Tests that take a database run on SQLite and on PostgreSQL."""
    if {"db_url", "empty_db_url"} & set(metafunc.fixturenames):
        metafunc.parametrize("empty_db_url", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture(scope="session")
def sample_result():
    """One real, tiny benchmark result, computed once per test process."""
    from core.engine.run import run
    from core.spec.schema import BenchSpec

    spec = BenchSpec(
        epochs=2, batch_size=16, synthetic_samples=256, depth=2, width=16, device="cpu",
        warmup_steps=2, timed_steps=5, repeats=2, infer_batch_sizes=(1, 8),
    )  # fmt: skip
    return spec, run(spec)
