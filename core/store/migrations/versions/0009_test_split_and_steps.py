"""a held-out test split's figures, and time to target in optimizer steps

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.store.migrations.view_ddl import create_view, drop_view

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RESULT_COLUMNS = {
    "n_test": (sa.Integer(), "Test samples (spec.test_fraction); null: none."),
    "final_test_accuracy": (
        sa.Float(),
        "Eval-mode accuracy of the final model on the test split, measured once.",
    ),
    "final_test_loss": (sa.Float(), "Eval-mode loss of the final model on the test split."),
    "steps_to_target": (
        sa.Integer(),
        "Optimizer steps to the target accuracy, counted at the epoch reaching it.",
    ),
}
NEW_SPEC_FIELDS = [("test_fraction", "float")]


def upgrade() -> None:
    drop_view()
    with op.batch_alter_table("results", schema=None) as batch_op:
        for name, (kind, comment) in RESULT_COLUMNS.items():
            batch_op.add_column(sa.Column(name, kind, nullable=True, comment=comment))
    create_view("0009")


def downgrade() -> None:
    drop_view()
    with op.batch_alter_table("results", schema=None) as batch_op:
        for name in reversed(RESULT_COLUMNS):
            batch_op.drop_column(name)
    create_view("0006")
