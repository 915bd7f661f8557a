"""environment fingerprints on results, pinned baselines and sent regression alerts

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

Results written before this revision get their fingerprint from their environment row and
their spec's deterministic mode, computed here with a frozen copy of the hash.
"""

import hashlib
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.store.migrations.view_ddl import create_view, drop_view

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of core.store.fingerprints as of this revision.
PARTS = ("gpu_name", "gpu_driver", "cuda", "cudnn", "torch", "cpu_model", "threads",
         "deterministic")  # fmt: skip
ENV_PARTS = PARTS[:-1]


def _fingerprint(parts: dict[str, object]) -> str:
    kept = {k: parts.get(k) for k in PARTS}
    return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()[:16]


def _backfill() -> None:
    bind = op.get_bind()
    deterministic = (
        "(spec_json ->> 'deterministic')::boolean"
        if bind.dialect.name == "postgresql"
        else "json_extract(spec_json, '$.deterministic') = 1"
    )
    envs = bind.execute(sa.text(f"SELECT id, {', '.join(ENV_PARTS)} FROM environments")).all()
    for env in envs:
        parts = dict(zip(ENV_PARTS, env[1:], strict=True))
        for det in (False, True):
            fp = _fingerprint({**parts, "deterministic": det})
            jobs = (
                f"SELECT id FROM jobs WHERE {'' if det else 'NOT '}COALESCE({deterministic}, false)"
            )
            bind.execute(
                sa.text(
                    f"UPDATE results SET fingerprint = :fp WHERE environment_id = :env "
                    f"AND job_id IN ({jobs})"
                ),
                {"fp": fp, "env": env[0]},
            )


def upgrade() -> None:
    drop_view()
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "fingerprint", sa.String(length=16), nullable=True,
                comment="Hash of what changes speed: GPU, driver, CUDA, cuDNN, torch, CPU, "
                "threads and deterministic mode (core.store.fingerprints); a series is a spec on "
                "one fingerprint.",
            )
        )  # fmt: skip
        batch_op.create_index("ix_results_fingerprint", ["fingerprint"], unique=False)
    _backfill()
    create_view("0017")
    op.create_table(
        "baselines",
        sa.Column("repeat_key", sa.String(length=16), nullable=False,
                  comment="The spec, seed aside (jobs.repeat_key)."),
        sa.Column("set_ref", sa.String(length=64), nullable=False,
                  comment="The pinned result set: a group id, or a job id for a run in no group."),
        sa.Column("pinned_at", sa.DateTime(timezone=True), nullable=False,
                  comment="When it was pinned (UTC)."),
        sa.PrimaryKeyConstraint("repeat_key", name=op.f("pk_baselines")),
        comment="Pinned baselines of `bnbench regressions`: one per spec (repeat key).",
    )  # fmt: skip
    op.create_table(
        "regression_alerts",
        sa.Column("series", sa.String(length=64), nullable=False,
                  comment="The series: its repeat key and the parts held."),
        sa.Column("contender", sa.String(length=100), nullable=False,
                  comment="The newer result set found slower."),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False,
                  comment="When it was sent (UTC)."),
        sa.PrimaryKeyConstraint("series", "contender", name=op.f("pk_regression_alerts")),
        comment="Regressions announced to the webhook, one row each.",
    )  # fmt: skip


def downgrade() -> None:
    op.drop_table("regression_alerts")
    op.drop_table("baselines")
    drop_view()
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.drop_index("ix_results_fingerprint")
        batch_op.drop_column("fingerprint")
    create_view("0014")
