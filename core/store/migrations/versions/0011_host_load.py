"""how busy the host was during a run: load average and CPU steal

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.store.migrations.view_ddl import create_view, drop_view

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RESULT_COLUMNS = {
    "load_avg_1m": (sa.Float(), "The host's 1-minute load average as the run ended."),
    "cpu_steal_fraction": (
        sa.Float(),
        "Share of CPU time the hypervisor stole during the run (Linux).",
    ),
}


def upgrade() -> None:
    drop_view()
    with op.batch_alter_table("results", schema=None) as batch_op:
        for name, (kind, comment) in RESULT_COLUMNS.items():
            batch_op.add_column(sa.Column(name, kind, nullable=True, comment=comment))
    create_view("0011")


def downgrade() -> None:
    drop_view()
    with op.batch_alter_table("results", schema=None) as batch_op:
        for name in reversed(RESULT_COLUMNS):
            batch_op.drop_column(name)
    create_view("0010")
