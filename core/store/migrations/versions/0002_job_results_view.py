"""job_results view: one row per job with its figures and every spec field as a column

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

The view makes plain SQL portable between sqlite3 and psql: no JSON functions needed.
Its columns are frozen per revision in core/store/migrations/view_ddl.py; a spec change recreates
the view in a new migration, and tests/core/store/test_migrations.py fails until one exists.
"""

from collections.abc import Sequence

from core.store.migrations.view_ddl import create_view, drop_view

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_view("0002")


def downgrade() -> None:
    drop_view()
