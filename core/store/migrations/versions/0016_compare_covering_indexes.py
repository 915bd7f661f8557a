"""covering indexes for grouped comparisons, and SQLite's planner statistics

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

A grouped comparison over a spec filter reads each matching job's repeat key and its
result's metrics. Without these indexes each of those rows is a table lookup, and on SQLite
a metric added by a later migration sits behind result_json's overflow pages. With them both
sides are answered from indexes. SQLite picks the covering index only when it has statistics,
so this revision gathers them (bounded by analysis_limit); the writer refreshes them as the
results grow (core.store.write). The results index is SQLite's only: PostgreSQL aggregates these
comparisons in SQL (core.store.repeat_stats_sql) and needs no copy of the metrics to do it.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here: a later change to the compared metrics is a later migration.
COMPARE_METRICS = [
    "train_samples_per_s", "final_val_accuracy", "final_val_r2", "final_val_rmse",
    "final_val_loss", "generalization_gap", "mode_accuracy_gap", "bn_variance_ratio",
    "time_to_target_s",
]  # fmt: skip
# id before repeat_key: the join then looks results up in job id order, page after page
JOBS_COLUMNS = ["spec_family", "status", "archived_at", "id", "repeat_key"]
RESULTS_COLUMNS = ["job_id", "environment_id", *COMPARE_METRICS]


def upgrade() -> None:
    op.drop_index("ix_jobs_spec_family", table_name="jobs")  # a prefix of the new one
    op.create_index("ix_jobs_spec_family_compare", "jobs", JOBS_COLUMNS, unique=False)
    if op.get_bind().dialect.name == "sqlite":
        op.create_index("ix_results_compare", "results", RESULTS_COLUMNS, unique=False)
        op.execute("PRAGMA analysis_limit=400")
        op.execute("ANALYZE")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("ix_results_compare", table_name="results")
    op.drop_index("ix_jobs_spec_family_compare", table_name="jobs")
    op.create_index("ix_jobs_spec_family", "jobs", ["spec_family"], unique=False)
