"""job_results view gains spec_bn_recalibrate

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from core.store.migrations.view_ddl import create_view, drop_view

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    drop_view()
    create_view("0005")


def downgrade() -> None:
    drop_view()
    create_view("0004")
