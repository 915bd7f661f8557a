"""job_results view: one row per job with its figures and every spec field as a column

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

The view makes plain SQL portable between sqlite3 and psql: no JSON functions needed.
The field list is frozen here (spec_version 1); a spec change recreates the view in a new
migration, and tests/core/test_migrations.py fails until one exists.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SPEC_FIELDS = [
    ("kind", "text"), ("family", "text"), ("depth", "int"), ("width", "int"),
    ("activation", "text"), ("norm", "text"), ("bn_momentum", "float"), ("bn_eps", "float"),
    ("bn_affine", "bool"), ("bn_track_running_stats", "bool"), ("bn_position", "text"),
    ("bn_last_layer", "bool"), ("groupnorm_groups", "int"), ("dropout_p", "float"),
    ("dropout_position", "text"), ("dropout_kind", "text"), ("dropout_layers", "text"),
    ("dataset", "text"), ("train_size", "int"), ("val_fraction", "float"),
    ("data_root", "text"), ("npz_file", "text"), ("synthetic_samples", "int"),
    ("synthetic_features", "int"), ("synthetic_image_size", "int"),
    ("synthetic_classes", "int"), ("synthetic_difficulty", "float"), ("seed", "int"),
    ("optimizer", "text"), ("lr", "float"), ("momentum", "float"), ("weight_decay", "float"),
    ("batch_size", "int"), ("epochs", "int"), ("target_val_accuracy", "float"),
    ("device", "text"), ("precision", "text"), ("channels_last", "bool"), ("compile", "text"),
    ("cuda_graph", "bool"), ("deterministic", "bool"), ("warmup_steps", "int"),
    ("timed_steps", "int"), ("infer_batch_sizes", "json"), ("repeats", "int"),
    ("layer", "text"), ("shape", "json"), ("dtype", "text"), ("memory_format", "text"),
    ("mode", "text"),
]  # fmt: skip

JOB_COLUMNS = [
    "id AS job_id", "status", "kind AS job_kind", "queue", "group_id", "label", "spec_hash",
    "repeat_key", "spec_version", "created_at", "started_at", "finished_at", "worker",
    "attempt", "error_type", "error_message",
]  # fmt: skip

RESULT_COLUMNS = [
    "task", "param_count", "n_train", "n_val", "train_samples_per_s",
    "train_samples_per_s_p25", "train_samples_per_s_p75", "step_ms_median", "step_ms_iqr",
    "step_n", "train_time_s", "total_time_s", "final_train_accuracy", "final_val_accuracy",
    "best_val_accuracy", "final_train_loss", "final_val_loss", "generalization_gap",
    "generalization_gap_loss", "mode_accuracy_eval", "mode_accuracy_train",
    "mode_accuracy_gap", "mode_output_rel_diff", "bn_variance_ratio", "bn_mean_gap",
    "time_to_target_s", "epochs_to_target", "diverged", "diverged_epoch", "fold_matches",
    "fold_max_abs_diff", "folded_layers", "peak_memory_mb",
]  # fmt: skip

ENV_COLUMNS = [
    "gpu_name", "gpu_driver", "cuda", "torch", "cpu_model", "hostname", "git_sha",
    "device AS run_device",
]  # fmt: skip

PG_TYPES = {"int": "integer", "float": "double precision", "bool": "boolean"}


def _spec_column(dialect: str, name: str, kind: str) -> str:
    if dialect == "postgresql":
        if kind == "json":
            return f"(j.spec_json -> '{name}')::text AS spec_{name}"
        if kind == "text":
            return f"j.spec_json ->> '{name}' AS spec_{name}"
        return f"(j.spec_json ->> '{name}')::{PG_TYPES[kind]} AS spec_{name}"
    return f"json_extract(j.spec_json, '$.{name}') AS spec_{name}"


def view_sql(
    dialect: str,
    spec_fields: list[tuple[str, str]] = SPEC_FIELDS,
    more_result_columns: tuple[str, ...] = (),
) -> str:
    """CREATE VIEW job_results for `dialect`; later migrations pass longer lists."""
    cols = [f"j.{c}" for c in JOB_COLUMNS]
    cols += [f"r.{c}" for c in [*RESULT_COLUMNS, *more_result_columns]]
    cols += [f"e.{c}" for c in ENV_COLUMNS]
    cols += [_spec_column(dialect, n, k) for n, k in spec_fields]
    body = ",\n    ".join(cols)
    return (
        f"CREATE VIEW job_results AS\nSELECT\n    {body}\nFROM jobs j\n"
        "LEFT JOIN results r ON r.job_id = j.id\n"
        "LEFT JOIN environments e ON e.id = r.environment_id"
    )


def upgrade() -> None:
    op.execute(view_sql(op.get_bind().dialect.name))


def downgrade() -> None:
    op.execute("DROP VIEW job_results")
