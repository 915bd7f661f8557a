"""The results schema. Every column carries its meaning as a docstring and a SQL comment.

docs/schema.md describes the same tables for people who query with sqlite3 or psql.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class JobStatus(StrEnum):
    """jobs.status; core.store.jobs holds every move between them."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


JOB_STATUSES = tuple(s.value for s in JobStatus)
FINAL_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)
# Spec fields people filter on, copied from spec_json into indexed columns (spec_<name>) at
# insert: a JSON path cannot use an index, so at 100k jobs the filter read every spec.
INDEXED_SPEC_FIELDS = ("family", "norm", "dropout_p", "dataset", "batch_size", "device",
                       "precision")  # fmt: skip
# The metrics a grouped comparison reads by default; ix_results_compare covers them, so a
# change here needs a migration that rebuilds that index.
COMPARE_METRICS = (
    "train_samples_per_s", "final_val_accuracy", "final_val_r2", "final_val_rmse",
    "final_val_loss", "generalization_gap", "mode_accuracy_gap", "bn_variance_ratio",
    "time_to_target_s",
)  # fmt: skip

# Named constraints, so migrations can refer to them on every backend.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend. SQLite keeps no zone and hands back
    naive values, which were written as UTC; PostgreSQL's timestamptz keeps it."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def utcnow() -> datetime:
    return datetime.now(UTC)


def col(*args: Any, doc: str, **kw: Any) -> Any:
    return mapped_column(*args, doc=doc, comment=doc, **kw)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Job(Base):
    """One benchmark request and its lifecycle; the source of truth for queue and dashboard."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(f"status IN {JOB_STATUSES!r}", name="status"),
        Index("ix_jobs_status_created_at", "status", "created_at"),
        Index("ix_jobs_group_id", "group_id"),
        Index("ix_jobs_spec_hash", "spec_hash"),
        Index("ix_jobs_repeat_key", "repeat_key"),
        Index("ix_jobs_created_at", "created_at"),
        # Covers a grouped comparison's read of jobs for a family. id before repeat_key: the
        # join then looks results up in job id order, leaf page after leaf page.
        Index(
            "ix_jobs_spec_family_compare",
            "spec_family",
            "status",
            "archived_at",
            "id",
            "repeat_key",
        ),
        Index("ix_jobs_spec_norm_dropout_p", "spec_norm", "spec_dropout_p"),
        Index("ix_jobs_spec_dataset", "spec_dataset"),
        # The few jobs whose results a comparison leaves out, for its anti-join on PostgreSQL.
        Index(
            "ix_jobs_hidden",
            "id",
            postgresql_where=text(f"archived_at IS NOT NULL OR status <> '{JobStatus.SUCCEEDED}'"),
            info={"dialects": ("postgresql",)},
        ),
        {"comment": "One benchmark request and its lifecycle."},
    )

    id: Mapped[str] = col(String(36), primary_key=True, doc="Job id, a UUID4 string.")
    spec_json: Mapped[dict[str, Any]] = col(JSONType, doc="The validated BenchSpec as JSON.")
    spec_hash: Mapped[str] = col(String(16), doc="BenchSpec.spec_hash(): identity of the spec.")
    repeat_key: Mapped[str] = col(
        String(16), doc="Hash of the spec without seed: jobs sharing it are repeats."
    )
    spec_version: Mapped[int] = col(Integer, doc="spec_version of spec_json.")
    spec_family: Mapped[str | None] = col(String(64), doc="spec_json's family, indexed.")
    spec_norm: Mapped[str | None] = col(String(64), doc="spec_json's norm, indexed.")
    spec_dropout_p: Mapped[float | None] = col(Float, doc="spec_json's dropout_p, indexed.")
    spec_dataset: Mapped[str | None] = col(String(64), doc="spec_json's dataset, indexed.")
    spec_batch_size: Mapped[int | None] = col(Integer, doc="spec_json's batch_size.")
    spec_device: Mapped[str | None] = col(String(64), doc="spec_json's device.")
    spec_precision: Mapped[str | None] = col(String(16), doc="spec_json's precision.")
    kind: Mapped[str] = col(String(16), doc="model or layer.")
    status: Mapped[str] = col(
        String(16), default="queued", doc="queued, running, succeeded, failed or cancelled."
    )
    queue: Mapped[str] = col(String(64), default="local", doc="Queue it was sent to; local: CLI.")
    priority: Mapped[int] = col(Integer, default=0, doc="Higher runs first where supported.")
    group_id: Mapped[str | None] = col(String(64), doc="Sweep or suite this job belongs to.")
    label: Mapped[str | None] = col(String(200), doc="Free-text label given at submission.")
    created_at: Mapped[datetime] = col(
        UTCDateTime(), default=utcnow, doc="When the job was submitted (UTC)."
    )
    started_at: Mapped[datetime | None] = col(
        UTCDateTime(), doc="When the current attempt started running (UTC)."
    )
    finished_at: Mapped[datetime | None] = col(
        UTCDateTime(), doc="When the job reached a final status (UTC)."
    )
    worker: Mapped[str | None] = col(String(200), doc="Worker that ran the current attempt.")
    attempt: Mapped[int] = col(Integer, default=0, doc="Attempts started so far.")
    progress: Mapped[float] = col(Float, default=0.0, doc="Fraction done, 0 to 1.")
    progress_epoch: Mapped[int | None] = col(Integer, doc="Epoch the running job is in.")
    heartbeat_at: Mapped[datetime | None] = col(
        UTCDateTime(), doc="Last sign of life from the running attempt (UTC)."
    )
    cancel_requested: Mapped[bool] = col(
        Boolean, default=False, doc="A cancel was asked for; the runner stops between steps."
    )
    cancel_requested_at: Mapped[datetime | None] = col(
        UTCDateTime(), doc="When the cancel was asked for (UTC)."
    )
    task_id: Mapped[str | None] = col(String(64), doc="Celery task id of the latest dispatch.")
    dispatched_at: Mapped[datetime | None] = col(
        UTCDateTime(), doc="When the latest task message was sent (UTC)."
    )
    error_type: Mapped[str | None] = col(String(100), doc="Class of the failure, if failed.")
    error_message: Mapped[str | None] = col(Text, doc="What went wrong and how to fix it.")
    note: Mapped[str | None] = col(Text, doc="Free-text note, editable after submission.")
    archived_at: Mapped[datetime | None] = col(
        UTCDateTime(), doc="When it was archived (UTC): hidden from default listings."
    )

    result: Mapped[Result | None] = relationship(back_populates="job", uselist=False)


class JobTag(Base):
    """One tag of one job; a group's tags are its jobs' tags."""

    __tablename__ = "job_tags"
    __table_args__ = (
        Index("ix_job_tags_tag", "tag"),
        {"comment": "Tags on jobs: SELECT job_id FROM job_tags WHERE tag = 'baseline'."},
    )

    job_id: Mapped[str] = col(
        ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True, doc="The job."
    )
    tag: Mapped[str] = col(String(64), primary_key=True, doc="The tag, as typed.")


class GroupNote(Base):
    """A note on a group (a sweep or a suite run)."""

    __tablename__ = "group_notes"
    __table_args__ = ({"comment": "Free-text notes on groups of jobs."},)

    group_id: Mapped[str] = col(String(64), primary_key=True, doc="jobs.group_id it describes.")
    note: Mapped[str] = col(Text, doc="The note.")
    updated_at: Mapped[datetime] = col(
        UTCDateTime(), default=utcnow, doc="When it was last written (UTC)."
    )


class DeletedJob(Base):
    """A deleted job's id, so a message still in the broker cannot bring the job back."""

    __tablename__ = "deleted_jobs"
    __table_args__ = ({"comment": "Ids of deleted jobs; their late deliveries are dropped."},)

    job_id: Mapped[str] = col(String(36), primary_key=True, doc="The deleted job's id.")
    deleted_at: Mapped[datetime] = col(
        UTCDateTime(), default=utcnow, doc="When it was deleted (UTC)."
    )


class JobLog(Base):
    """The log lines a worker wrote while running one attempt of a job."""

    __tablename__ = "job_logs"
    __table_args__ = (
        Index("ix_job_logs_job_id", "job_id"),
        {"comment": "The worker's log lines for each job, in order."},
    )

    id: Mapped[int] = col(Integer, primary_key=True, doc="Surrogate key; the lines' order.")
    job_id: Mapped[str] = col(ForeignKey("jobs.id", ondelete="CASCADE"), doc="The job.")
    attempt: Mapped[int] = col(Integer, doc="The attempt that wrote it, from 1.")
    logged_at: Mapped[datetime] = col(UTCDateTime(), doc="When it was logged (UTC).")
    level: Mapped[str] = col(String(16), doc="INFO, WARNING, ERROR, ...")
    logger: Mapped[str] = col(String(100), doc="Logger name, e.g. bnbench.worker.")
    message: Mapped[str] = col(Text, doc="The formatted message, exception text included.")


class Environment(Base):
    """Provenance of results, stored once per distinct machine and software stack."""

    __tablename__ = "environments"
    __table_args__ = (
        UniqueConstraint("env_hash"),
        Index("ix_environments_gpu_name", "gpu_name"),
        {"comment": "Hardware and software a result was measured on, deduplicated."},
    )

    id: Mapped[int] = col(Integer, primary_key=True, doc="Surrogate key.")
    env_hash: Mapped[str] = col(String(64), doc="SHA-256 of the provenance fields.")
    torch: Mapped[str] = col(String(64), doc="torch.__version__.")
    cuda: Mapped[str | None] = col(String(32), doc="CUDA version torch was built with.")
    cudnn: Mapped[int | None] = col(Integer, doc="cuDNN version, as torch reports it.")
    gpu_name: Mapped[str | None] = col(String(200), doc="GPU model name; null on CPU.")
    gpu_driver: Mapped[str | None] = col(String(64), doc="NVIDIA driver version.")
    gpu_memory_mb: Mapped[int | None] = col(Integer, doc="GPU memory in MiB.")
    cpu_model: Mapped[str] = col(String(200), doc="CPU model name.")
    threads: Mapped[int] = col(Integer, doc="torch intra-op threads.")
    python: Mapped[str] = col(String(32), doc="Python version.")
    hostname: Mapped[str] = col(String(255), doc="Host that ran the job.")
    bnbench_version: Mapped[str] = col(String(32), doc="bnbench version.")
    git_sha: Mapped[str | None] = col(String(64), doc="bnbench git commit.")
    device: Mapped[str] = col(String(32), doc="torch device used: cpu, cuda, cuda:1, ...")


class Result(Base):
    """Summary figures of one finished job; exactly one per job."""

    __tablename__ = "results"
    __table_args__ = (
        UniqueConstraint("job_id"),
        # Covers a grouped comparison's read of results on SQLite: no table row, no
        # result_json. PostgreSQL aggregates these in SQL and needs no copy of the metrics.
        Index(
            "ix_results_compare",
            "job_id",
            "environment_id",
            *COMPARE_METRICS,
            info={"dialects": ("sqlite",)},
        ),
        Index("ix_results_fingerprint", "fingerprint"),
        # A grouped comparison over spec fields reads results by repeat key alone on
        # PostgreSQL, in key order, without joining jobs (core.store.read.keyed_select).
        Index(
            "ix_results_repeat_key_compare",
            "repeat_key",
            postgresql_include=["job_id", *COMPARE_METRICS],
            info={"dialects": ("postgresql",)},
        ),
        {"comment": "Summary figures of one finished job; one row per job."},
    )

    id: Mapped[int] = col(Integer, primary_key=True, doc="Surrogate key.")
    job_id: Mapped[str] = col(
        ForeignKey("jobs.id", ondelete="CASCADE"), doc="The job; unique, so writes are idempotent."
    )
    environment_id: Mapped[int] = col(ForeignKey("environments.id"), doc="Where it ran.")
    created_at: Mapped[datetime] = col(
        UTCDateTime(), default=utcnow, doc="When the result was written (UTC)."
    )
    total_time_s: Mapped[float] = col(Float, doc="Wall time of the whole run, seconds.")
    load_avg_1m: Mapped[float | None] = col(
        Float, doc="The host's 1-minute load average as the run ended."
    )
    load_avg_1m_start: Mapped[float | None] = col(
        Float, doc="The host's 1-minute load average as the run started."
    )
    step_p95_over_median: Mapped[float | None] = col(
        Float, doc="Timed training steps' p95 over their median: a tail of preempted steps."
    )
    wall_over_steps: Mapped[float | None] = col(
        Float, doc="Training wall time over the sum of its steps: time lost between steps."
    )
    cpu_steal_fraction: Mapped[float | None] = col(
        Float, doc="Share of CPU time the hypervisor stole during the run (Linux)."
    )
    repeat_key: Mapped[str | None] = col(
        String(16), doc="The job's repeat key (spec without seed), copied when it is written."
    )
    fingerprint: Mapped[str | None] = col(
        String(16),
        doc="Hash of what changes speed: GPU, driver, CUDA, cuDNN, torch, CPU, threads and "
        "deterministic mode (core.store.fingerprints); a series is a spec on one fingerprint.",
    )
    task: Mapped[str | None] = col(String(16), doc="classification or regression (model kind).")
    param_count: Mapped[int | None] = col(Integer, doc="Trainable and frozen parameters.")
    n_train: Mapped[int | None] = col(Integer, doc="Training samples.")
    n_val: Mapped[int | None] = col(Integer, doc="Validation samples.")
    train_samples_per_s: Mapped[float | None] = col(
        Float, doc="Training throughput: batch / median step time."
    )
    train_samples_per_s_p25: Mapped[float | None] = col(Float, doc="From the 75th pct step.")
    train_samples_per_s_p75: Mapped[float | None] = col(Float, doc="From the 25th pct step.")
    step_ms_median: Mapped[float | None] = col(Float, doc="Median training step, ms.")
    step_ms_iqr: Mapped[float | None] = col(Float, doc="Interquartile range of steps, ms.")
    step_n: Mapped[int | None] = col(Integer, doc="Timed steps behind the median.")
    train_time_s: Mapped[float | None] = col(Float, doc="Training time, evaluation excluded.")
    final_train_accuracy: Mapped[float | None] = col(Float, doc="Eval-mode train accuracy.")
    final_val_accuracy: Mapped[float | None] = col(Float, doc="Eval-mode validation accuracy.")
    best_val_accuracy: Mapped[float | None] = col(Float, doc="Best epoch's val accuracy.")
    final_train_loss: Mapped[float | None] = col(
        Float, doc="Train loss of the final model in eval mode (the split's full pass)."
    )
    final_val_loss: Mapped[float | None] = col(Float, doc="Last epoch's val loss, eval mode.")
    generalization_gap: Mapped[float | None] = col(
        Float, doc="Train accuracy (eval mode) minus validation accuracy."
    )
    generalization_gap_loss: Mapped[float | None] = col(
        Float, doc="Validation loss minus train loss, both in eval mode."
    )
    mode_accuracy_eval: Mapped[float | None] = col(Float, doc="Val accuracy in eval mode.")
    mode_accuracy_train: Mapped[float | None] = col(Float, doc="Val accuracy in train mode.")
    mode_accuracy_gap: Mapped[float | None] = col(Float, doc="Eval minus train-mode accuracy.")
    mode_output_rel_diff: Mapped[float | None] = col(
        Float, doc="mean |out_train - out_eval| / mean |out_eval| on validation data."
    )
    bn_variance_ratio: Mapped[float | None] = col(
        Float, doc="Mean over BN layers of population var / running var."
    )
    bn_mean_gap: Mapped[float | None] = col(
        Float, doc="Mean over BN layers of the running-mean gap, in running std units."
    )
    bn_variance_ratio_dropout_fed: Mapped[float | None] = col(
        Float, doc="Mean of population var / running var over the BN layers dropout feeds."
    )
    bn_variance_ratios: Mapped[list[float] | None] = col(
        JSONType, doc="Population var / running var of each BN layer, in network order."
    )
    time_to_target_s: Mapped[float | None] = col(Float, doc="Training time to the target.")
    epochs_to_target: Mapped[int | None] = col(Integer, doc="Epochs to the target accuracy.")
    diverged: Mapped[bool] = col(Boolean, default=False, doc="Loss went NaN or infinite.")
    diverged_epoch: Mapped[int | None] = col(Integer, doc="Epoch of divergence.")
    fold_matches: Mapped[bool | None] = col(Boolean, doc="Folded BN reproduced the outputs.")
    fold_max_abs_diff: Mapped[float | None] = col(Float, doc="Largest output difference.")
    folded_layers: Mapped[int | None] = col(Integer, doc="BN layers folded for inference.")
    peak_memory_mb: Mapped[float | None] = col(Float, doc="Peak CUDA memory, MiB.")
    last_hidden_shift: Mapped[float | None] = col(
        Float, doc="Last hidden layer input shift since init, final epoch (see epoch_metrics)."
    )
    n_test: Mapped[int | None] = col(Integer, doc="Test samples (spec.test_fraction); null: none.")
    final_test_accuracy: Mapped[float | None] = col(
        Float, doc="Eval-mode accuracy of the final model on the test split, measured once."
    )
    final_test_loss: Mapped[float | None] = col(
        Float, doc="Eval-mode loss of the final model on the test split."
    )
    steps_to_target: Mapped[int | None] = col(
        Integer, doc="Optimizer steps to the target accuracy, counted at the epoch reaching it."
    )
    final_train_r2: Mapped[float | None] = col(
        Float, doc="Regression: R² of the final model on the training split, eval mode."
    )
    final_val_r2: Mapped[float | None] = col(
        Float, doc="Regression: R² (1 - SSE/SST) on validation, eval mode; null: classification."
    )
    final_val_rmse: Mapped[float | None] = col(
        Float, doc="Regression: root mean squared error on validation, eval mode."
    )
    final_test_r2: Mapped[float | None] = col(
        Float, doc="Regression: R² of the final model on the test split, measured once."
    )
    result_json: Mapped[dict[str, Any]] = col(
        JSONType, doc="The full BenchResult, for exact round trips."
    )

    job: Mapped[Job] = relationship(back_populates="result")
    environment: Mapped[Environment] = relationship()


class EpochMetric(Base):
    """One training epoch of a job: the learning curves."""

    __tablename__ = "epoch_metrics"
    __table_args__ = (
        UniqueConstraint("job_id", "epoch"),
        {"comment": "Per-epoch learning curves."},
    )

    id: Mapped[int] = col(Integer, primary_key=True, doc="Surrogate key.")
    job_id: Mapped[str] = col(ForeignKey("jobs.id", ondelete="CASCADE"), doc="The job.")
    epoch: Mapped[int] = col(Integer, doc="Epoch number, from 1.")
    train_loss: Mapped[float | None] = col(Float, doc="Mean minibatch loss, train mode.")
    train_accuracy: Mapped[float | None] = col(Float, doc="Train accuracy, eval mode.")
    val_loss: Mapped[float | None] = col(Float, doc="Validation loss, eval mode.")
    val_accuracy: Mapped[float | None] = col(Float, doc="Validation accuracy, eval mode.")
    val_loss_train_mode: Mapped[float | None] = col(Float, doc="Validation loss, train mode.")
    val_accuracy_train_mode: Mapped[float | None] = col(Float, doc="Val accuracy, train mode.")
    epoch_time_s: Mapped[float] = col(Float, doc="Training time of the epoch, seconds.")
    wall_time_s: Mapped[float] = col(Float, doc="Cumulative training time, seconds.")
    last_hidden_p15: Mapped[float | None] = col(
        Float, doc="15th percentile of unit 0's input to the last hidden activation."
    )
    last_hidden_p50: Mapped[float | None] = col(
        Float, doc="Median of unit 0's input to the last hidden activation."
    )
    last_hidden_p85: Mapped[float | None] = col(
        Float, doc="85th percentile of unit 0's input to the last hidden activation."
    )
    last_hidden_shift: Mapped[float | None] = col(
        Float, doc="Mean |median move| of that layer's inputs since init, in input units."
    )
    val_r2: Mapped[float | None] = col(Float, doc="Regression: validation R², eval mode.")


class InferenceMetric(Base):
    """Eval-mode inference at one batch size, unfolded or with BN folded."""

    __tablename__ = "inference_metrics"
    __table_args__ = (
        UniqueConstraint("job_id", "batch_size", "folded"),
        {"comment": "Inference throughput and latency per batch size."},
    )

    id: Mapped[int] = col(Integer, primary_key=True, doc="Surrogate key.")
    job_id: Mapped[str] = col(ForeignKey("jobs.id", ondelete="CASCADE"), doc="The job.")
    batch_size: Mapped[int] = col(Integer, doc="Inference batch size.")
    folded: Mapped[bool] = col(Boolean, doc="BN folded into the preceding layer.")
    samples_per_s: Mapped[float] = col(Float, doc="Throughput from the median round.")
    latency_p50_ms: Mapped[float] = col(Float, doc="Median single-call latency, ms.")
    latency_p95_ms: Mapped[float] = col(Float, doc="95th percentile latency, ms.")
    round_ms_median: Mapped[float] = col(Float, doc="Median per-call time over rounds, ms.")
    round_ms_iqr: Mapped[float] = col(Float, doc="IQR of per-call time over rounds, ms.")
    rounds: Mapped[int] = col(Integer, doc="Timed rounds.")


class LayerMetric(Base):
    """A layer microbenchmark (kind=layer) against the device's copy bandwidth."""

    __tablename__ = "layer_metrics"
    __table_args__ = (
        UniqueConstraint("job_id"),
        Index("ix_layer_metrics_layer_mode", "layer", "mode"),
        {"comment": "Layer microbenchmarks and their roofline fraction."},
    )

    id: Mapped[int] = col(Integer, primary_key=True, doc="Surrogate key.")
    job_id: Mapped[str] = col(ForeignKey("jobs.id", ondelete="CASCADE"), doc="The job.")
    layer: Mapped[str] = col(String(32), doc="Layer timed, e.g. batchnorm2d.")
    mode: Mapped[str] = col(String(16), doc="train_fwd, train_fwdbwd or eval_fwd.")
    shape: Mapped[list[int]] = col(JSONType, doc="Input shape including batch.")
    dtype: Mapped[str] = col(String(16), doc="Input dtype.")
    median_ms: Mapped[float] = col(Float, doc="Median time per call, ms.")
    iqr_ms: Mapped[float] = col(Float, doc="Interquartile range per call, ms.")
    n: Mapped[int] = col(Integer, doc="Rounds behind the median.")
    bytes_moved: Mapped[int] = col(Integer, doc="Minimum bytes an ideal kernel moves.")
    bytes_formula: Mapped[str] = col(String(200), doc="How bytes_moved was computed.")
    achieved_gbps: Mapped[float | None] = col(Float, doc="bytes_moved / median time, GB/s.")
    copy_gbps: Mapped[float] = col(Float, doc="Device copy bandwidth, same job, GB/s.")
    roofline_fraction: Mapped[float | None] = col(Float, doc="achieved_gbps / copy_gbps.")


class BNLayerStat(Base):
    """Running vs population statistics of one BN layer after training."""

    __tablename__ = "bn_layer_stats"
    __table_args__ = (
        UniqueConstraint("job_id", "layer_index"),
        {"comment": "BN running statistics against the population, per layer."},
    )

    id: Mapped[int] = col(Integer, primary_key=True, doc="Surrogate key.")
    job_id: Mapped[str] = col(ForeignKey("jobs.id", ondelete="CASCADE"), doc="The job.")
    layer_index: Mapped[int] = col(Integer, doc="Order of the BN layer in the network, from 0.")
    name: Mapped[str] = col(String(100), doc="Layer type and module path, e.g. BatchNorm1d@1.")
    num_features: Mapped[int] = col(Integer, doc="Channels or features.")
    variance_ratio: Mapped[float] = col(Float, doc="Mean over channels of pop var / running var.")
    variance_ratio_min: Mapped[float] = col(Float, doc="Smallest channel ratio.")
    variance_ratio_max: Mapped[float] = col(Float, doc="Largest channel ratio.")
    mean_gap: Mapped[float] = col(Float, doc="Mean |pop mean - running mean| / running std.")
    preceded_by_dropout: Mapped[bool] = col(
        Boolean, doc="Dropout sits between this and the previous BN."
    )
    dropout_p: Mapped[float | None] = col(
        Float, doc="p of a dropout whose output is this BN's input, if any."
    )
    predicted_variance_ratio: Mapped[float | None] = col(
        Float, doc="(1 - p) / (1 + p mu^2 / sigma^2) over channels, for that dropout."
    )


class Worker(Base):
    """A worker process that has registered with the database."""

    __tablename__ = "workers"
    __table_args__ = ({"comment": "Worker processes and their heartbeats."},)

    name: Mapped[str] = col(String(200), primary_key=True, doc="Unique worker name.")
    host: Mapped[str] = col(String(255), doc="Host the worker runs on.")
    gpu_model: Mapped[str | None] = col(String(200), doc="GPU it owns; null for CPU workers.")
    queues: Mapped[list[str]] = col(JSONType, doc="Queues it consumes.")
    started_at: Mapped[datetime] = col(UTCDateTime(), default=utcnow, doc="Process start (UTC).")
    heartbeat_at: Mapped[datetime] = col(UTCDateTime(), default=utcnow, doc="Last heartbeat (UTC).")
    current_job_id: Mapped[str | None] = col(String(36), doc="Job it is running, if any.")
    memory_mb: Mapped[int | None] = col(
        Integer, doc="Largest estimated job footprint it accepts, MiB (BNBENCH_MAX_MODEL_MB)."
    )


class RejectedMessage(Base):
    """A task message that could not be read as a job of its own, kept for the operator."""

    __tablename__ = "rejected_messages"
    __table_args__ = (
        Index("ix_rejected_messages_received_at", "received_at"),
        {"comment": "Task messages refused without a job row of their own, and why."},
    )

    id: Mapped[str] = col(String(36), primary_key=True, doc="Record id, a UUID4 string.")
    received_at: Mapped[datetime] = col(
        UTCDateTime(), default=utcnow, doc="When a worker refused it (UTC)."
    )
    queue: Mapped[str | None] = col(String(200), doc="Queue it arrived on.")
    worker: Mapped[str | None] = col(String(200), doc="Worker that refused it.")
    task_id: Mapped[str | None] = col(String(200), doc="Its Celery task id header, if any.")
    job_id: Mapped[str | None] = col(
        String(36), doc="Job it named or would have been, if one could be recovered."
    )
    headers: Mapped[str] = col(Text, doc="Its headers as JSON text (ASCII, escaped).")
    body: Mapped[str] = col(Text, doc="The first 4 KB of its body, escaped where not text.")
    reason: Mapped[str] = col(Text, doc="Why it was refused, and what the sender should fix.")


class SuiteRun(Base):
    """A suite submitted as one group, run in rounds of seeds until each claim is decided."""

    __tablename__ = "suite_runs"
    __table_args__ = (
        CheckConstraint("state IN ('running', 'done')", name="state"),
        Index("ix_suite_runs_state", "state"),
        {"comment": "Suite runs: their round, their state and why each experiment stopped."},
    )

    id: Mapped[str] = col(String(64), primary_key=True, doc="The group id of its jobs.")
    suite: Mapped[str] = col(String(64), doc="Suite name: article, papers, throughput, ...")
    profile: Mapped[str] = col(String(16), doc="Profile: ci, quick or full.")
    experiments: Mapped[list[str]] = col(JSONType, doc="Experiment keys chosen; empty: all.")
    round: Mapped[int] = col(Integer, doc="Rounds of seeds submitted so far, from 1.")
    looks: Mapped[int] = col(Integer, doc="Looks the profile plans; each tests at 0.05 / looks.")
    state: Mapped[str] = col(String(16), doc="running, or done once every experiment stopped.")
    mode: Mapped[str] = col(
        String(16), doc="queue: workers run it and submit its rounds; local: one CLI process."
    )
    queue: Mapped[str | None] = col(String(64), doc="Queue given at submission, if any.")
    gpu_model: Mapped[str | None] = col(String(200), doc="GPU model given at submission, if any.")
    stops: Mapped[dict[str, Any]] = col(
        JSONType, doc="Per experiment key: the look, seeds and verdict it stopped at, and why."
    )
    created_at: Mapped[datetime] = col(
        UTCDateTime(), default=utcnow, doc="When it was submitted (UTC)."
    )
    updated_at: Mapped[datetime] = col(
        UTCDateTime(), default=utcnow, doc="When its last round was decided (UTC)."
    )


class Baseline(Base):
    """The result set a spec's newer results are compared with, pinned by hand."""

    __tablename__ = "baselines"
    __table_args__ = (
        {"comment": "Pinned baselines of `bnbench regressions`: one per spec (repeat key)."},
    )

    repeat_key: Mapped[str] = col(
        String(16), primary_key=True, doc="The spec, seed aside (jobs.repeat_key)."
    )
    set_ref: Mapped[str] = col(
        String(64), doc="The pinned result set: a group id, or a job id for a run in no group."
    )
    pinned_at: Mapped[datetime] = col(
        UTCDateTime(), default=utcnow, doc="When it was pinned (UTC)."
    )


class RegressionAlert(Base):
    """A regression already sent to BNBENCH_ALERT_WEBHOOK, so that it is sent once."""

    __tablename__ = "regression_alerts"
    __table_args__ = ({"comment": "Regressions announced to the webhook, one row each."},)

    series: Mapped[str] = col(
        String(64), primary_key=True, doc="The series: its repeat key and the parts held."
    )
    contender: Mapped[str] = col(
        String(100), primary_key=True, doc="The newer result set found slower."
    )
    sent_at: Mapped[datetime] = col(UTCDateTime(), default=utcnow, doc="When it was sent (UTC).")


class Lease(Base):
    """A periodic duty that one process of the fleet does at a time, taken in turns."""

    __tablename__ = "leases"
    __table_args__ = ({"comment": "Who does a periodic duty for the fleet, and until when."},)

    name: Mapped[str] = col(String(64), primary_key=True, doc="The duty, e.g. regression-check.")
    holder: Mapped[str] = col(String(200), doc="The worker that holds it.")
    expires_at: Mapped[datetime] = col(
        UTCDateTime(), doc="When another process may take it over (UTC)."
    )
