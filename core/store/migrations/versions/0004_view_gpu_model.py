"""job_results view gains spec_gpu_model

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from core.store.migrations.view_ddl import create_view, drop_view

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    drop_view()
    create_view("0004")


def downgrade() -> None:
    drop_view()
    create_view("0002")
