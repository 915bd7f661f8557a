"""the spec fields people filter on as indexed columns of jobs, backfilled from spec_json

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

A filter through a JSON path reads every job's spec; these columns let an index answer it.
spec_json stays the full record.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.store.migrations.view_ddl import create_view, drop_view

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = {
    "family": (sa.String(length=64), "text"),
    "norm": (sa.String(length=64), "text"),
    "dropout_p": (sa.Float(), "float"),
    "dataset": (sa.String(length=64), "text"),
    "batch_size": (sa.Integer(), "int"),
    "device": (sa.String(length=64), "text"),
    "precision": (sa.String(length=16), "text"),
}
INDEXES = {
    "ix_jobs_spec_family": ["spec_family"],
    "ix_jobs_spec_norm_dropout_p": ["spec_norm", "spec_dropout_p"],
    "ix_jobs_spec_dataset": ["spec_dataset"],
}


def _extract(dialect: str, name: str, kind: str) -> str:
    if dialect == "postgresql":
        cast = {"text": "", "float": "::double precision", "int": "::integer"}[kind]
        return f"(spec_json->>'{name}'){cast}"
    return f"json_extract(spec_json, '$.{name}')"


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        for name, (kind, _) in COLUMNS.items():
            batch_op.add_column(
                sa.Column(f"spec_{name}", kind, nullable=True, comment=f"spec_json's {name}"
                          + (", indexed." if any(f"spec_{name}" in c for c in INDEXES.values())
                             else "."))
            )  # fmt: skip
    dialect = op.get_bind().dialect.name
    sets = ", ".join(f"spec_{n} = {_extract(dialect, n, k)}" for n, (_, k) in COLUMNS.items())
    op.execute(f"UPDATE jobs SET {sets} WHERE kind <> 'invalid'")
    for name, cols in INDEXES.items():
        op.create_index(name, "jobs", cols, unique=False)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="jobs")
    drop_view()
    # Not batch mode: SQLite would rebuild jobs, and dropping the old table cascades into
    # every job's results. ALTER TABLE ... DROP COLUMN (SQLite 3.35+) keeps them.
    for name in reversed(COLUMNS):
        op.drop_column("jobs", f"spec_{name}")
    create_view("0014")
