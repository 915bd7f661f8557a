"""job_results view gains spec_gpu_model

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

from core.store.migrations.view_ddl import job_results_view

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _recreate(revision: str) -> None:
    op.execute("DROP VIEW job_results")
    op.execute(job_results_view(op.get_bind().dialect.name, revision))


def upgrade() -> None:
    _recreate("0004")


def downgrade() -> None:
    _recreate("0002")
