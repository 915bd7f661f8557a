"""Writing jobs and results. Every write is one transaction, and writing a result is idempotent.

A job's result rows and its final status are written together, so a reader never sees a
succeeded job without its figures. A redelivered task that writes the same result again
finds the unique constraint on results.job_id and leaves the first copy in place.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import session_scope
from core.dbmodels import (
    BNLayerStat,
    Environment,
    EpochMetric,
    InferenceMetric,
    Job,
    LayerMetric,
    Result,
    utcnow,
)
from core.result import BenchResult, Provenance
from core.spec import BenchSpec

ERROR_MESSAGE_MAX = 4000


def new_job(
    spec: BenchSpec,
    *,
    queue: str = "local",
    priority: int = 0,
    group_id: str | None = None,
    label: str | None = None,
    status: str = "queued",
    job_id: str | None = None,
    worker: str | None = None,
) -> Job:
    """An unsaved Job row for `spec`."""
    now = utcnow()
    running = status == "running"
    return Job(
        id=job_id or str(uuid.uuid4()),
        spec_json=spec.model_dump(mode="json"),
        spec_hash=spec.spec_hash(),
        repeat_key=spec.repeat_key(),
        spec_version=spec.spec_version,
        kind=spec.kind,
        status=status,
        queue=queue,
        priority=priority,
        group_id=group_id,
        label=label,
        created_at=now,
        started_at=now if running else None,
        attempt=1 if running else 0,
        worker=worker,
        heartbeat_at=now if running else None,
        progress=0.0,
        cancel_requested=False,
    )


def create_job(spec: BenchSpec, url: str | None = None, **kw) -> str:
    """Insert a job row and return its id."""
    job = new_job(spec, **kw)
    with session_scope(url) as s:
        s.add(job)
    return job.id


def record_progress(job_id: str, epoch: int, fraction: float, url: str | None = None) -> None:
    with session_scope(url) as s:
        s.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "running")
            .values(progress=fraction, progress_epoch=epoch or None, heartbeat_at=utcnow())
        )


def mark_failed(
    job_id: str,
    error_type: str,
    message: str,
    url: str | None = None,
    status: str = "failed",
) -> bool:
    """Move an unfinished job to failed (or cancelled) with its error; False if already final."""
    with session_scope(url) as s:
        res = s.execute(
            update(Job)
            .where(Job.id == job_id, Job.status.in_(("queued", "running")))
            .values(
                status=status,
                finished_at=utcnow(),
                error_type=error_type[:100],
                error_message=message[:ERROR_MESSAGE_MAX],
            )
        )
        return res.rowcount == 1


def env_hash(p: Provenance) -> str:
    return hashlib.sha256(json.dumps(p.model_dump(), sort_keys=True).encode()).hexdigest()


def environment_id(s: Session, p: Provenance) -> int:
    """Get or create the environments row for this provenance."""
    h = env_hash(p)
    found = s.scalar(select(Environment.id).where(Environment.env_hash == h))
    if found is not None:
        return found
    try:
        with s.begin_nested():
            env = Environment(env_hash=h, **p.model_dump())
            s.add(env)
        return env.id
    except IntegrityError:  # another writer inserted it first
        return s.scalar(select(Environment.id).where(Environment.env_hash == h))


def _result_row(job_id: str, env_id: int, r: BenchResult) -> Result:
    row = Result(
        job_id=job_id,
        environment_id=env_id,
        total_time_s=r.total_time_s,
        diverged=False,
        result_json=json.loads(r.model_dump_json()),
    )
    m = r.model
    if m is None:
        return row
    tp = m.throughput
    row.task, row.param_count, row.n_train, row.n_val = m.task, m.param_count, m.n_train, m.n_val
    if tp is not None:
        row.train_samples_per_s = tp.samples_per_s
        row.train_samples_per_s_p25 = tp.samples_per_s_p25
        row.train_samples_per_s_p75 = tp.samples_per_s_p75
        row.step_ms_median, row.step_ms_iqr, row.step_n = (
            tp.step.median_ms,
            tp.step.iqr_ms,
            tp.step.n,
        )
    row.train_time_s = m.train_time_s
    row.final_train_accuracy, row.final_val_accuracy = m.final_train_accuracy, m.final_val_accuracy
    row.best_val_accuracy = m.best_val_accuracy
    row.final_train_loss, row.final_val_loss = (
        _finite(m.final_train_loss),
        _finite(m.final_val_loss),
    )
    row.generalization_gap = m.generalization_gap
    row.generalization_gap_loss = _finite(m.generalization_gap_loss)
    g = m.mode_gap
    row.mode_accuracy_eval, row.mode_accuracy_train = g.accuracy_eval, g.accuracy_train_mode
    row.mode_accuracy_gap, row.mode_output_rel_diff = g.accuracy_gap, _finite(g.output_rel_diff)
    if m.bn_stats:
        row.bn_variance_ratio = sum(b.variance_ratio for b in m.bn_stats) / len(m.bn_stats)
        row.bn_mean_gap = sum(b.mean_gap for b in m.bn_stats) / len(m.bn_stats)
    row.time_to_target_s, row.epochs_to_target = m.time_to_target_s, m.epochs_to_target
    row.diverged, row.diverged_epoch = m.diverged, m.diverged_epoch
    if m.fold is not None:
        row.fold_matches, row.fold_max_abs_diff = m.fold.matches, _finite(m.fold.max_abs_diff)
        row.folded_layers = m.fold.folded_layers
    row.peak_memory_mb = m.peak_memory_mb
    return row


def _finite(v: float | None) -> float | None:
    """NaN and inf become NULL: SQL has no portable NaN, and a diverged run is flagged anyway."""
    return None if v is None or v != v or v in (float("inf"), float("-inf")) else v


def _detail_rows(job_id: str, r: BenchResult) -> list:
    rows: list = []
    if r.layer is not None:
        lr = r.layer
        rows.append(
            LayerMetric(
                job_id=job_id,
                layer=lr.layer,
                mode=lr.mode,
                shape=lr.shape,
                dtype=lr.dtype,
                median_ms=lr.time.median_ms,
                iqr_ms=lr.time.iqr_ms,
                n=lr.time.n,
                bytes_moved=lr.bytes_moved,
                bytes_formula=lr.bytes_formula,
                achieved_gbps=lr.achieved_gbps,
                copy_gbps=lr.copy_gbps,
                roofline_fraction=lr.roofline_fraction,
            )
        )
    m = r.model
    if m is None:
        return rows
    for e in m.epochs:
        rows.append(
            EpochMetric(
                job_id=job_id,
                epoch=e.epoch,
                train_loss=_finite(e.train_loss),
                train_accuracy=e.train_accuracy,
                val_loss=_finite(e.val_loss),
                val_accuracy=e.val_accuracy,
                val_loss_train_mode=_finite(e.val_loss_train_mode),
                val_accuracy_train_mode=e.val_accuracy_train_mode,
                epoch_time_s=e.epoch_time_s,
                wall_time_s=e.wall_time_s,
            )
        )
    for p in m.inference:
        rows.append(
            InferenceMetric(
                job_id=job_id,
                batch_size=p.batch_size,
                folded=p.folded,
                samples_per_s=p.samples_per_s,
                latency_p50_ms=p.latency_p50_ms,
                latency_p95_ms=p.latency_p95_ms,
                round_ms_median=p.rounds.median_ms,
                round_ms_iqr=p.rounds.iqr_ms,
                rounds=p.rounds.n,
            )
        )
    for b in m.bn_stats:
        rows.append(
            BNLayerStat(
                job_id=job_id,
                layer_index=b.index,
                name=b.name,
                num_features=b.num_features,
                variance_ratio=_finite(b.variance_ratio) or 0.0,
                variance_ratio_min=_finite(b.variance_ratio_min) or 0.0,
                variance_ratio_max=_finite(b.variance_ratio_max) or 0.0,
                mean_gap=_finite(b.mean_gap) or 0.0,
                preceded_by_dropout=b.preceded_by_dropout,
            )
        )
    return rows


def save_result(job_id: str, result: BenchResult, url: str | None = None) -> bool:
    """Write the result rows and mark the job succeeded, in one transaction.

    Returns False, changing nothing, when the job already has a result.
    """
    try:
        with session_scope(url) as s:
            if s.scalar(select(Result.id).where(Result.job_id == job_id)) is not None:
                return False
            env_id = environment_id(s, result.provenance)
            s.add(_result_row(job_id, env_id, result))
            s.add_all(_detail_rows(job_id, result))
            s.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(
                    status="succeeded",
                    finished_at=_parse(result.finished_at),
                    progress=1.0,
                    error_type=None,
                    error_message=None,
                )
            )
    except IntegrityError:
        with session_scope(url, readonly=True) as s:
            if s.scalar(select(Result.id).where(Result.job_id == job_id)) is not None:
                return False
        raise
    return True


def load_result(job_id: str, url: str | None = None) -> BenchResult | None:
    with session_scope(url, readonly=True) as s:
        data = s.scalar(select(Result.result_json).where(Result.job_id == job_id))
    return None if data is None else BenchResult.model_validate(data)


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts)
