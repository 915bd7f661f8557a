"""a regression's own figures: R² on each split and validation RMSE

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

Rows written before it get RMSE from their MSE validation loss; R² needs the targets'
variance, which no row kept, so theirs stays null.
"""

import math
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.store.migrations.view_ddl import create_view, drop_view

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RESULT_COLUMNS = {
    "final_train_r2": (
        sa.Float(),
        "Regression: R² of the final model on the training split, eval mode.",
    ),
    "final_val_r2": (
        sa.Float(),
        "Regression: R² (1 - SSE/SST) on validation, eval mode; null: classification.",
    ),
    "final_val_rmse": (sa.Float(), "Regression: root mean squared error on validation, eval mode."),
    "final_test_r2": (
        sa.Float(),
        "Regression: R² of the final model on the test split, measured once.",
    ),
}
EPOCH_COMMENT = "Regression: validation R², eval mode."


def upgrade() -> None:
    drop_view()
    with op.batch_alter_table("results", schema=None) as batch_op:
        for name, (kind, comment) in RESULT_COLUMNS.items():
            batch_op.add_column(sa.Column(name, kind, nullable=True, comment=comment))
    with op.batch_alter_table("epoch_metrics", schema=None) as batch_op:
        batch_op.add_column(sa.Column("val_r2", sa.Float(), nullable=True, comment=EPOCH_COMMENT))
    bind = op.get_bind()
    losses = bind.execute(
        sa.text(
            "SELECT id, final_val_loss FROM results "
            "WHERE task = 'regression' AND final_val_loss >= 0"
        )
    ).all()
    if losses:
        bind.execute(
            sa.text("UPDATE results SET final_val_rmse = :rmse WHERE id = :id"),
            [{"id": i, "rmse": math.sqrt(loss)} for i, loss in losses],
        )
    create_view("0013")


def downgrade() -> None:
    drop_view()
    with op.batch_alter_table("epoch_metrics", schema=None) as batch_op:
        batch_op.drop_column("val_r2")
    with op.batch_alter_table("results", schema=None) as batch_op:
        for name in reversed(RESULT_COLUMNS):
            batch_op.drop_column(name)
    create_view("0011")
