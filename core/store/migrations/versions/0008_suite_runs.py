"""suite runs, decided round by round on the server

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "suite_runs",
        sa.Column("id", sa.String(length=64), nullable=False, comment="The group id of its jobs."),
        sa.Column(
            "suite",
            sa.String(length=64),
            nullable=False,
            comment="Suite name: article, papers, throughput, ...",
        ),
        sa.Column(
            "profile", sa.String(length=16), nullable=False, comment="Profile: ci, quick or full."
        ),
        sa.Column(
            "experiments", JSONType, nullable=False, comment="Experiment keys chosen; empty: all."
        ),
        sa.Column(
            "round",
            sa.Integer(),
            nullable=False,
            comment="Rounds of seeds submitted so far, from 1.",
        ),
        sa.Column(
            "looks",
            sa.Integer(),
            nullable=False,
            comment="Looks the profile plans; each tests at 0.05 / looks.",
        ),
        sa.Column(
            "state",
            sa.String(length=16),
            nullable=False,
            comment="running, or done once every experiment stopped.",
        ),
        sa.Column(
            "mode",
            sa.String(length=16),
            nullable=False,
            comment="queue: workers run it and submit its rounds; local: one CLI process.",
        ),
        sa.Column(
            "queue",
            sa.String(length=64),
            nullable=True,
            comment="Queue given at submission, if any.",
        ),
        sa.Column(
            "gpu_model",
            sa.String(length=200),
            nullable=True,
            comment="GPU model given at submission, if any.",
        ),
        sa.Column(
            "stops",
            JSONType,
            nullable=False,
            comment="Per experiment key: the look, seeds and verdict it stopped at, and why.",
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When it was submitted (UTC).",
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When its last round was decided (UTC).",
        ),
        sa.CheckConstraint("state IN ('running', 'done')", name=op.f("ck_suite_runs_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suite_runs")),
        comment="Suite runs: their round, their state and why each experiment stopped.",
    )
    op.create_index("ix_suite_runs_state", "suite_runs", ["state"])


def downgrade() -> None:
    op.drop_index("ix_suite_runs_state", table_name="suite_runs")
    op.drop_table("suite_runs")
