"""Engines and sessions for the results database: SQLite by default, PostgreSQL at scale.

BNBENCH_DATABASE_URL picks the database. Without it, a SQLite file lives at
$BNBENCH_HOME/bnbench.db (BNBENCH_HOME defaults to ~/.bnbench).

SQLite is set up for several writer processes: WAL, a busy timeout, and write
transactions that start with BEGIN IMMEDIATE, so a writer waits for the lock up front
instead of failing with "database is locked" when it upgrades a read lock mid-transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, CursorResult, Engine, Executable, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from core.config import bnbench_home, check_unambiguous, env_or_file, masked

BUSY_TIMEOUT_MS = 60_000


def database_url(url: str | None = None) -> str:
    """The URL in use: the argument, else BNBENCH_DATABASE_URL (or the file that
    BNBENCH_DATABASE_URL_FILE names), else the default SQLite file."""
    url = url or env_or_file("BNBENCH_DATABASE_URL")
    if not url:
        return f"sqlite:///{bnbench_home() / 'bnbench.db'}"
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if not url.startswith("sqlite"):
        try:
            parsed = make_url(url).password
        except Exception:  # not a URL SQLAlchemy can load: reported where it is used
            return url
        check_unambiguous("BNBENCH_DATABASE_URL", url, parsed)
    return url


def redacted(url: str | None = None) -> str:
    """The URL with its password hidden, for logs and error messages."""
    return masked(database_url(url))


def _sqlite_engine(url: str, readonly: bool) -> Engine:
    u = make_url(url)
    if u.database and u.database != ":memory:":
        Path(u.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine


_ENGINES: dict[tuple[str, bool], Engine] = {}


def get_engine(url: str | None = None, readonly: bool = False) -> Engine:
    """A cached engine. readonly engines skip SQLite's write lock, for dashboards and queries."""
    url = database_url(url)
    key = (url, readonly and url.startswith("sqlite"))
    if key not in _ENGINES:
        if url.startswith("sqlite"):
            _ENGINES[key] = _sqlite_engine(url, key[1])
        else:
            _ENGINES[key] = create_engine(url, pool_pre_ping=True)
    return _ENGINES[key]


def dispose_engines() -> None:
    """Close pooled connections and forget the engines, e.g. in a child process or a test."""
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()


@contextmanager
def session_scope(url: str | None = None, readonly: bool = False) -> Iterator[Session]:
    """A session that commits on success, rolls back on error, and always closes."""
    session = Session(get_engine(url, readonly), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def rows_changed(s: Session, stmt: Executable) -> int:
    """Rows an UPDATE or DELETE matched. Session.execute types its result as a plain Result,
    which has no rowcount; an UPDATE's is a CursorResult."""
    result = s.execute(stmt)
    assert isinstance(result, CursorResult)
    return result.rowcount
