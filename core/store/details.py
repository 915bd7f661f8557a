"""Per-job detail tables as DataFrames: learning curves, inference, BN layers, layer benchmarks."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlalchemy import Executable, select

from core.store.db import session_scope
from core.store.tables import (
    BNLayerStat,
    Environment,
    EpochMetric,
    InferenceMetric,
    Job,
    JobLog,
    LayerMetric,
    Result,
)


def _frame(stmt: Executable, url: str | None) -> pd.DataFrame:
    with session_scope(url, readonly=True) as s:
        result = s.execute(stmt)
        keys = list(result.keys())
        # dict records: a JSON list cell (a layer's shape) must stay one value, not a row
        return pd.DataFrame.from_records(
            [dict(zip(keys, r, strict=True)) for r in result], columns=keys
        )


def epoch_curves(job_ids: Sequence[str], url: str | None = None) -> pd.DataFrame:
    """One row per (job, epoch): losses and accuracies (R² for a regression) in train and eval
    mode, times, and the last hidden layer's input distribution."""
    e = EpochMetric
    stmt = (
        select(e.job_id, Job.label, e.epoch, e.train_loss, e.train_accuracy, e.val_loss,
               e.val_accuracy, e.val_r2, e.val_loss_train_mode, e.val_accuracy_train_mode,
               e.epoch_time_s, e.wall_time_s, e.last_hidden_p15, e.last_hidden_p50,
               e.last_hidden_p85, e.last_hidden_shift)
        .join(Job, Job.id == e.job_id)
        .where(e.job_id.in_(list(job_ids)))
        .order_by(e.job_id, e.epoch)
    )  # fmt: skip
    return _frame(stmt, url)


def inference_table(job_ids: Sequence[str], url: str | None = None) -> pd.DataFrame:
    i = InferenceMetric
    stmt = (
        select(i.job_id, i.batch_size, i.folded, i.samples_per_s, i.latency_p50_ms,
               i.latency_p95_ms, i.round_ms_median, i.round_ms_iqr, i.rounds)
        .where(i.job_id.in_(list(job_ids)))
        .order_by(i.job_id, i.batch_size, i.folded)
    )  # fmt: skip
    return _frame(stmt, url)


def bn_layers(job_ids: Sequence[str], url: str | None = None) -> pd.DataFrame:
    b = BNLayerStat
    stmt = (
        select(b.job_id, b.layer_index, b.name, b.num_features, b.variance_ratio,
               b.variance_ratio_min, b.variance_ratio_max, b.mean_gap, b.preceded_by_dropout,
               b.dropout_p, b.predicted_variance_ratio)
        .where(b.job_id.in_(list(job_ids)))
        .order_by(b.job_id, b.layer_index)
    )  # fmt: skip
    return _frame(stmt, url)


def layer_benchmarks(
    limit: int = 2000, url: str | None = None, job_ids: Sequence[str] | None = None
) -> pd.DataFrame:
    """Layer microbenchmarks with the device they ran on, newest first."""
    m = LayerMetric
    stmt = (
        select(m.job_id, m.layer, m.mode, m.shape, m.dtype, m.median_ms, m.iqr_ms,
               m.bytes_moved, m.achieved_gbps, m.copy_gbps, m.roofline_fraction,
               Environment.gpu_name, Environment.cpu_model, Environment.device, Job.created_at)
        .join(Job, Job.id == m.job_id)
        .join(Result, Result.job_id == m.job_id)
        .join(Environment, Environment.id == Result.environment_id)
        .order_by(Job.created_at.desc())
        .limit(limit)
    )  # fmt: skip
    if job_ids is not None:
        stmt = stmt.where(m.job_id.in_(list(job_ids)))
    df = _frame(stmt, url)
    if not df.empty:
        df["machine"] = df["gpu_name"].fillna(df["cpu_model"]) + " (" + df["device"] + ")"
    return df


def job_log(job_id: str, url: str | None = None) -> pd.DataFrame:
    """The worker's log lines for a job (worker/job_logs.py), oldest first, every attempt's."""
    g = JobLog
    stmt = (
        select(g.attempt, g.logged_at, g.level, g.logger, g.message)
        .where(g.job_id == job_id)
        .order_by(g.id)
    )
    return _frame(stmt, url)
