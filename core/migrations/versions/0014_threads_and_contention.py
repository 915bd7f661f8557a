"""the torch thread count as a spec field, and signs of contention in each result

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

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


def _view(with_new: bool) -> str:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(op.get_context().config)
    base, v13 = script.get_revision("0002").module, script.get_revision("0013").module
    fields, more = v13.view_columns(with_new=True)
    if with_new:
        fields = [*fields, *NEW_SPEC_FIELDS]
        more = (*more, *RESULT_COLUMNS)
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
