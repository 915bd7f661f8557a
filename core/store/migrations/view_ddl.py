"""The job_results view as each revision left it: the DDL the migrations share.

Frozen: a revision that changes the view adds its columns to REVISIONS under its own id,
and nothing here changes for a revision once written, so that every migration builds the
same view it always did. No migration loads another's module.

The view makes plain SQL portable between sqlite3 and psql: every spec field is a column,
no JSON functions needed.
"""

from __future__ import annotations

from alembic import op

SPEC_FIELDS_0002 = (
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
)  # fmt: skip

JOB_COLUMNS = (
    "id AS job_id", "status", "kind AS job_kind", "queue", "group_id", "label", "spec_hash",
    "repeat_key", "spec_version", "created_at", "started_at", "finished_at", "worker",
    "attempt", "error_type", "error_message",
)  # fmt: skip

RESULT_COLUMNS_0002 = (
    "task", "param_count", "n_train", "n_val", "train_samples_per_s",
    "train_samples_per_s_p25", "train_samples_per_s_p75", "step_ms_median", "step_ms_iqr",
    "step_n", "train_time_s", "total_time_s", "final_train_accuracy", "final_val_accuracy",
    "best_val_accuracy", "final_train_loss", "final_val_loss", "generalization_gap",
    "generalization_gap_loss", "mode_accuracy_eval", "mode_accuracy_train",
    "mode_accuracy_gap", "mode_output_rel_diff", "bn_variance_ratio", "bn_mean_gap",
    "time_to_target_s", "epochs_to_target", "diverged", "diverged_epoch", "fold_matches",
    "fold_max_abs_diff", "folded_layers", "peak_memory_mb",
)  # fmt: skip

ENV_COLUMNS = (
    "gpu_name", "gpu_driver", "cuda", "torch", "cpu_model", "hostname", "git_sha",
    "device AS run_device",
)  # fmt: skip

# revision -> (spec fields it added, result columns it added); in revision order.
REVISIONS: dict[str, tuple[tuple[tuple[str, str], ...], tuple[str, ...]]] = {
    "0002": (SPEC_FIELDS_0002, RESULT_COLUMNS_0002),
    "0004": ((("gpu_model", "text"),), ()),
    "0005": ((("bn_recalibrate", "bool"),), ()),
    "0006": ((), ("last_hidden_shift",)),
    "0009": (
        (("test_fraction", "float"),),
        ("n_test", "final_test_accuracy", "final_test_loss", "steps_to_target"),
    ),
    "0010": ((), ("bn_variance_ratio_dropout_fed", "bn_variance_ratios")),
    "0011": ((), ("load_avg_1m", "cpu_steal_fraction")),
    "0013": ((), ("final_train_r2", "final_val_r2", "final_val_rmse", "final_test_r2")),
    "0014": (
        (("threads", "int"),),
        ("load_avg_1m_start", "step_p95_over_median", "wall_over_steps"),
    ),
    "0017": ((), ("fingerprint",)),
}

PG_TYPES = {"int": "integer", "float": "double precision", "bool": "boolean"}


def columns_at(revision: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(spec fields, result columns) of job_results as `revision` left it."""
    if revision not in REVISIONS:
        raise KeyError(f"revision {revision} did not change job_results")
    fields: list[tuple[str, str]] = []
    results: list[str] = []
    for rev, (more_fields, more_results) in REVISIONS.items():
        if rev > revision:
            break
        fields += more_fields
        results += more_results
    return fields, results


def _spec_column(dialect: str, name: str, kind: str) -> str:
    if dialect == "postgresql":
        if kind == "json":
            return f"(j.spec_json -> '{name}')::text AS spec_{name}"
        if kind == "text":
            return f"j.spec_json ->> '{name}' AS spec_{name}"
        return f"(j.spec_json ->> '{name}')::{PG_TYPES[kind]} AS spec_{name}"
    return f"json_extract(j.spec_json, '$.{name}') AS spec_{name}"


def job_results_view(dialect: str, revision: str) -> str:
    """CREATE VIEW job_results for `dialect`, as `revision` left it."""
    fields, results = columns_at(revision)
    cols = [f"j.{c}" for c in JOB_COLUMNS]
    cols += [f"r.{c}" for c in results]
    cols += [f"e.{c}" for c in ENV_COLUMNS]
    cols += [_spec_column(dialect, n, k) for n, k in fields]
    body = ",\n    ".join(cols)
    return (
        f"CREATE VIEW job_results AS\nSELECT\n    {body}\nFROM jobs j\n"
        "LEFT JOIN results r ON r.job_id = j.id\n"
        "LEFT JOIN environments e ON e.id = r.environment_id"
    )


def create_view(revision: str) -> None:
    """In a migration: CREATE job_results as `revision` left it, for this database."""
    op.execute(job_results_view(op.get_bind().dialect.name, revision))


def drop_view() -> None:
    """In a migration: DROP job_results, which SQLite's table rebuilds would trip over."""
    op.execute("DROP VIEW job_results")
