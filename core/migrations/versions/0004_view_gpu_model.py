"""job_results view gains spec_gpu_model

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_FIELDS = [("gpu_model", "text")]


def _view_module():
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(op.get_context().config).get_revision("0002").module


def upgrade() -> None:
    base = _view_module()
    op.execute("DROP VIEW job_results")
    op.execute(base.view_sql(op.get_bind().dialect.name, [*base.SPEC_FIELDS, *NEW_FIELDS]))


def downgrade() -> None:
    op.execute("DROP VIEW job_results")
    op.execute(_view_module().view_sql(op.get_bind().dialect.name))
