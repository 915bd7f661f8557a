"""leases: a periodic duty done by one worker of the fleet at a time

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07

Every worker's reconciler computed the regression verdicts each period, so a fleet of N
workers did the same work N times. The lease gives the duty to one of them per period.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=64), nullable=False,
                  comment="The duty, e.g. regression-check."),
        sa.Column("holder", sa.String(length=200), nullable=False,
                  comment="The worker that holds it."),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False,
                  comment="When another process may take it over (UTC)."),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
        comment="Who does a periodic duty for the fleet, and until when.",
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("leases")
