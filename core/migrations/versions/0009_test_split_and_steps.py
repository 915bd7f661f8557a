"""a held-out test split's figures, and time to target in optimizer steps

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

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


def _view(with_new: bool) -> str:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(op.get_context().config)
    base, v5 = script.get_revision("0002").module, script.get_revision("0005").module
    fields = [*base.SPEC_FIELDS, *v5.FIELDS_0004, *v5.NEW_FIELDS]
    more = ("last_hidden_shift",)
    if with_new:
        fields += NEW_SPEC_FIELDS
        more += tuple(RESULT_COLUMNS)
    return base.view_sql(op.get_bind().dialect.name, fields, more)


def upgrade() -> None:
    op.execute("DROP VIEW job_results")
    with op.batch_alter_table("results", schema=None) as batch_op:
        for name, (kind, comment) in RESULT_COLUMNS.items():
            batch_op.add_column(sa.Column(name, kind, nullable=True, comment=comment))
    op.execute(_view(with_new=True))


def downgrade() -> None:
    op.execute("DROP VIEW job_results")
    with op.batch_alter_table("results", schema=None) as batch_op:
        for name in reversed(RESULT_COLUMNS):
            batch_op.drop_column(name)
    op.execute(_view(with_new=False))
