"""Typed results of a benchmark run. Frozen, JSON-serializable, persisted by the database layer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, ser_json_inf_nan="strings")


class TimingStats(_Frozen):
    """Summary of repeated timings in milliseconds."""

    median_ms: float
    p25_ms: float
    p75_ms: float
    p95_ms: float
    mean_ms: float
    n: int

    @property
    def iqr_ms(self) -> float:
        return self.p75_ms - self.p25_ms


class EpochMetrics(_Frozen):
    """One epoch of training. Accuracies are None for regression, R² for classification."""

    epoch: int
    train_loss: float
    train_accuracy: float | None
    val_loss: float
    val_accuracy: float | None
    val_loss_train_mode: float
    val_accuracy_train_mode: float | None
    epoch_time_s: float
    wall_time_s: float
    last_hidden_p15: float | None = None
    last_hidden_p50: float | None = None
    last_hidden_p85: float | None = None
    last_hidden_shift: float | None = None
    val_r2: float | None = None


class Throughput(_Frozen):
    """Training throughput from per-step times (warm-up excluded, evaluation outside)."""

    samples_per_s: float
    samples_per_s_p25: float
    samples_per_s_p75: float
    step: TimingStats


class ModeGap(_Frozen):
    """The same validation data through train mode and eval mode."""

    accuracy_eval: float | None
    accuracy_train_mode: float | None
    accuracy_gap: float | None
    loss_eval: float
    loss_train_mode: float
    output_rel_diff: float


class BNLayerStats(_Frozen):
    """Running statistics of one BN layer against its population input statistics."""

    index: int
    name: str
    num_features: int
    variance_ratio: float
    variance_ratio_min: float
    variance_ratio_max: float
    mean_gap: float
    preceded_by_dropout: bool
    dropout_p: float | None = None  # of a dropout feeding this BN directly, if any
    predicted_variance_ratio: float | None = None  # (1 - p) / (1 + p mu^2 / sigma^2), mean


class InferencePoint(_Frozen):
    """Eval-mode inference at one batch size, unfolded or with BN folded."""

    batch_size: int
    folded: bool
    samples_per_s: float
    latency_p50_ms: float
    latency_p95_ms: float
    rounds: TimingStats


class FoldCheck(_Frozen):
    """Whether folding BN into the preceding layer preserved the outputs."""

    folded_layers: int
    unfoldable_layers: int
    max_abs_diff: float
    tolerance: float
    matches: bool


class ModelResult(_Frozen):
    task: Literal["classification", "regression"]
    param_count: int
    n_train: int
    n_val: int
    epochs: list[EpochMetrics]
    throughput: Throughput | None
    train_time_s: float
    final_train_accuracy: float | None
    final_val_accuracy: float | None
    best_val_accuracy: float | None
    final_train_loss: float
    final_val_loss: float
    generalization_gap: float | None
    generalization_gap_loss: float
    mode_gap: ModeGap
    bn_stats: list[BNLayerStats]
    time_to_target_s: float | None
    epochs_to_target: int | None
    diverged: bool
    diverged_epoch: int | None
    inference: list[InferencePoint]
    fold: FoldCheck | None
    peak_memory_mb: float | None
    last_hidden_shift: float | None = None
    n_test: int | None = None
    final_test_accuracy: float | None = None
    final_test_loss: float | None = None
    steps_to_target: int | None = None
    final_train_r2: float | None = None  # regression: R² and RMSE in place of accuracy
    final_val_r2: float | None = None
    final_val_rmse: float | None = None
    final_test_r2: float | None = None
    step_p95_over_median: float | None = None  # core.engine.run.contention
    wall_over_steps: float | None = None
    threads_tried: dict[int, float] | None = None  # engine.threads.trial: median ms per count


class LayerResult(_Frozen):
    layer: str
    mode: str
    shape: list[int]
    dtype: str
    time: TimingStats
    bytes_moved: int
    bytes_formula: str
    achieved_gbps: float | None
    copy_gbps: float
    roofline_fraction: float | None


class Provenance(_Frozen):
    torch: str
    cuda: str | None
    cudnn: int | None
    gpu_name: str | None
    gpu_driver: str | None
    gpu_memory_mb: int | None
    cpu_model: str
    threads: int
    python: str
    hostname: str
    bnbench_version: str
    git_sha: str | None
    device: str


class BenchResult(_Frozen):
    """What `core.engine.run.run` returns for one spec."""

    spec_hash: str
    spec: dict
    kind: Literal["model", "layer"]
    model: ModelResult | None = None
    layer: LayerResult | None = None
    provenance: Provenance
    started_at: str
    finished_at: str
    total_time_s: float
    load_avg_1m: float | None = None  # core.engine.host_load: how busy the host was, at the end
    load_avg_1m_start: float | None = None
    cpu_steal_fraction: float | None = None
