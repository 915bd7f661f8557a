"""last hidden layer input distribution per epoch (Ioffe & Szegedy, fig. 1)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.store.migrations.view_ddl import create_view, drop_view

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EPOCH_COLUMNS = {
    "last_hidden_p15": "15th percentile of unit 0's input to the last hidden activation.",
    "last_hidden_p50": "Median of unit 0's input to the last hidden activation.",
    "last_hidden_p85": "85th percentile of unit 0's input to the last hidden activation.",
    "last_hidden_shift": "Mean |median move| of that layer's inputs since init, in initial spreads.",
}
RESULT_COMMENT = "Last hidden layer input shift since init, final epoch (see epoch_metrics)."


def upgrade() -> None:
    drop_view()
    with op.batch_alter_table("epoch_metrics", schema=None) as batch_op:
        for name, comment in EPOCH_COLUMNS.items():
            batch_op.add_column(sa.Column(name, sa.Float(), nullable=True, comment=comment))
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_hidden_shift", sa.Float(), nullable=True, comment=RESULT_COMMENT)
        )
    create_view("0006")


def downgrade() -> None:
    # SQLite rebuilds a table to drop a column, which the view over results would block.
    drop_view()
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.drop_column("last_hidden_shift")
    with op.batch_alter_table("epoch_metrics", schema=None) as batch_op:
        for name in reversed(EPOCH_COLUMNS):
            batch_op.drop_column(name)
    create_view("0005")
