"""how busy the host was during a run: load average and CPU steal

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

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


def _view(with_new: bool) -> str:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(op.get_context().config)
    base, v5 = script.get_revision("0002").module, script.get_revision("0005").module
    v9, v10 = script.get_revision("0009").module, script.get_revision("0010").module
    fields = [*base.SPEC_FIELDS, *v5.FIELDS_0004, *v5.NEW_FIELDS, *v9.NEW_SPEC_FIELDS]
    more = ("last_hidden_shift", *v9.RESULT_COLUMNS, *v10.RESULT_COLUMNS)
    if with_new:
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
