"""job_results view gains spec_bn_recalibrate

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIELDS_0004 = [("gpu_model", "text")]
NEW_FIELDS = [("bn_recalibrate", "bool")]


def _view_module():
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(op.get_context().config).get_revision("0002").module


def _recreate(extra: list[tuple[str, str]]) -> None:
    base = _view_module()
    op.execute("DROP VIEW job_results")
    op.execute(base.view_sql(op.get_bind().dialect.name, [*base.SPEC_FIELDS, *extra]))


def upgrade() -> None:
    _recreate([*FIELDS_0004, *NEW_FIELDS])


def downgrade() -> None:
    _recreate(FIELDS_0004)
