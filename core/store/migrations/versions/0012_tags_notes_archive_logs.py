"""names, tags and notes on jobs and groups, archiving, and per-job worker logs

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.store.migrations.view_ddl import create_view, drop_view

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "note",
                sa.Text(),
                nullable=True,
                comment="Free-text note, editable after submission.",
            )
        )
        batch_op.add_column(
            sa.Column(
                "archived_at",
                sa.DateTime(timezone=True),
                nullable=True,
                comment="When it was archived (UTC): hidden from default listings.",
            )
        )
    op.create_table(
        "job_tags",
        sa.Column("job_id", sa.String(length=36), nullable=False, comment="The job."),
        sa.Column("tag", sa.String(length=64), nullable=False, comment="The tag, as typed."),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_job_tags_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", "tag", name=op.f("pk_job_tags")),
        comment="Tags on jobs: SELECT job_id FROM job_tags WHERE tag = 'baseline'.",
    )
    op.create_index("ix_job_tags_tag", "job_tags", ["tag"], unique=False)
    op.create_table(
        "group_notes",
        sa.Column(
            "group_id", sa.String(length=64), nullable=False, comment="jobs.group_id it describes."
        ),
        sa.Column("note", sa.Text(), nullable=False, comment="The note."),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When it was last written (UTC).",
        ),
        sa.PrimaryKeyConstraint("group_id", name=op.f("pk_group_notes")),
        comment="Free-text notes on groups of jobs.",
    )
    op.create_table(
        "deleted_jobs",
        sa.Column("job_id", sa.String(length=36), nullable=False, comment="The deleted job's id."),
        sa.Column(
            "deleted_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When it was deleted (UTC).",
        ),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_deleted_jobs")),
        comment="Ids of deleted jobs; their late deliveries are dropped.",
    )
    op.create_table(
        "job_logs",
        sa.Column("id", sa.Integer(), nullable=False, comment="Surrogate key; the lines' order."),
        sa.Column("job_id", sa.String(length=36), nullable=False, comment="The job."),
        sa.Column(
            "attempt", sa.Integer(), nullable=False, comment="The attempt that wrote it, from 1."
        ),
        sa.Column(
            "logged_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="When it was logged (UTC).",
        ),
        sa.Column(
            "level", sa.String(length=16), nullable=False, comment="INFO, WARNING, ERROR, ..."
        ),
        sa.Column(
            "logger",
            sa.String(length=100),
            nullable=False,
            comment="Logger name, e.g. bnbench.worker.",
        ),
        sa.Column(
            "message",
            sa.Text(),
            nullable=False,
            comment="The formatted message, exception text included.",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_job_logs_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_logs")),
        comment="The worker's log lines for each job, in order.",
    )
    op.create_index("ix_job_logs_job_id", "job_logs", ["job_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_job_logs_job_id", table_name="job_logs")
    op.drop_table("job_logs")
    op.drop_table("deleted_jobs")
    op.drop_table("group_notes")
    op.drop_index("ix_job_tags_tag", table_name="job_tags")
    op.drop_table("job_tags")
    drop_view()
    # Not batch mode: SQLite would rebuild jobs, and dropping the old table cascades into
    # every job's results. ALTER TABLE ... DROP COLUMN (SQLite 3.35+) keeps them.
    op.drop_column("jobs", "archived_at")
    op.drop_column("jobs", "note")
    create_view("0011")
