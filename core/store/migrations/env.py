"""Alembic environment: one transaction per upgrade, serialized across processes."""

from alembic import context
from sqlalchemy import text

from core.store.db import get_engine
from core.store.migrate import ADVISORY_LOCK_KEY
from core.store.tables import Base

config = context.config
url = config.attributes["url"]


def run_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def on_dialect(obj: object, dialect: str) -> bool:
    """False for a model object declared for other backends only (info["dialects"])."""
    dialects = getattr(obj, "info", {}).get("dialects")
    return dialects is None or dialect in dialects


def run_online() -> None:
    engine = get_engine(url)
    with engine.connect() as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
        context.configure(
            connection=conn,
            target_metadata=Base.metadata,
            render_as_batch=conn.dialect.name == "sqlite",
            compare_type=True,
            include_object=lambda obj, _name, _type, _reflected, _to: on_dialect(
                obj, conn.dialect.name
            ),
        )
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
