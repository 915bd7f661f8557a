"""rejected task messages, and each worker's memory budget

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rejected_messages",
        sa.Column("id", sa.String(length=36), nullable=False, comment="Record id, a UUID4 string."),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When a worker refused it (UTC).",
        ),
        sa.Column("queue", sa.String(length=200), nullable=True, comment="Queue it arrived on."),
        sa.Column(
            "worker", sa.String(length=200), nullable=True, comment="Worker that refused it."
        ),
        sa.Column(
            "task_id",
            sa.String(length=200),
            nullable=True,
            comment="Its Celery task id header, if any.",
        ),
        sa.Column(
            "job_id",
            sa.String(length=36),
            nullable=True,
            comment="Job it named or would have been, if one could be recovered.",
        ),
        sa.Column(
            "headers",
            sa.Text(),
            nullable=False,
            comment="Its headers as JSON text (ASCII, escaped).",
        ),
        sa.Column(
            "body",
            sa.Text(),
            nullable=False,
            comment="The first 4 KB of its body, escaped where not text.",
        ),
        sa.Column(
            "reason",
            sa.Text(),
            nullable=False,
            comment="Why it was refused, and what the sender should fix.",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rejected_messages")),
        comment="Task messages refused without a job row of their own, and why.",
    )
    op.create_index("ix_rejected_messages_received_at", "rejected_messages", ["received_at"])
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "memory_mb",
                sa.Integer(),
                nullable=True,
                comment="Largest estimated job footprint it accepts, MiB (BNBENCH_MAX_MODEL_MB).",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.drop_column("memory_mb")
    op.drop_index("ix_rejected_messages_received_at", table_name="rejected_messages")
    op.drop_table("rejected_messages")
