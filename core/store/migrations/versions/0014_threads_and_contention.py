"""the torch thread count as a spec field, and signs of contention in each result

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.store.migrations.view_ddl import create_view, drop_view

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RESULT_COLUMNS = {
    "load_avg_1m_start": (sa.Float(), "The host's 1-minute load average as the run started."),
    "step_p95_over_median": (
        sa.Float(),
        "Timed training steps' p95 over their median: a tail of preempted steps.",
    ),
    "wall_over_steps": (
        sa.Float(),
        "Training wall time over the sum of its steps: time lost between steps.",
    ),
}
NEW_SPEC_FIELDS = [("threads", "int")]


def upgrade() -> None:
    drop_view()
    with op.batch_alter_table("results", schema=None) as batch_op:
        for name, (kind, comment) in RESULT_COLUMNS.items():
            batch_op.add_column(sa.Column(name, kind, nullable=True, comment=comment))
    create_view("0014")


def downgrade() -> None:
    drop_view()
    with op.batch_alter_table("results", schema=None) as batch_op:
        for name in reversed(RESULT_COLUMNS):
            batch_op.drop_column(name)
    create_view("0013")
