"""Result rows: a BenchResult flattened into the summary row and its detail rows."""

from __future__ import annotations

import json
from typing import Any

from core.dbmodels import BNLayerStat, EpochMetric, InferenceMetric, LayerMetric, Result
from core.result import BenchResult, EpochMetrics


def result_row(job_id: str, env_id: int, r: BenchResult) -> Result:
    row = Result(
        job_id=job_id,
        environment_id=env_id,
        total_time_s=r.total_time_s,
        load_avg_1m=r.load_avg_1m,
        load_avg_1m_start=r.load_avg_1m_start,
        cpu_steal_fraction=r.cpu_steal_fraction,
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
        finite(m.final_train_loss),
        finite(m.final_val_loss),
    )
    row.generalization_gap = m.generalization_gap
    row.generalization_gap_loss = finite(m.generalization_gap_loss)
    g = m.mode_gap
    row.mode_accuracy_eval, row.mode_accuracy_train = g.accuracy_eval, g.accuracy_train_mode
    row.mode_accuracy_gap, row.mode_output_rel_diff = g.accuracy_gap, finite(g.output_rel_diff)
    if m.bn_stats:
        row.bn_variance_ratio = sum(b.variance_ratio for b in m.bn_stats) / len(m.bn_stats)
        row.bn_mean_gap = sum(b.mean_gap for b in m.bn_stats) / len(m.bn_stats)
        row.bn_variance_ratios = [finite(b.variance_ratio) for b in m.bn_stats]
        fed = [b.variance_ratio for b in m.bn_stats if b.preceded_by_dropout]
        row.bn_variance_ratio_dropout_fed = finite(sum(fed) / len(fed)) if fed else None
    row.time_to_target_s, row.epochs_to_target = m.time_to_target_s, m.epochs_to_target
    row.diverged, row.diverged_epoch = m.diverged, m.diverged_epoch
    if m.fold is not None:
        row.fold_matches, row.fold_max_abs_diff = m.fold.matches, finite(m.fold.max_abs_diff)
        row.folded_layers = m.fold.folded_layers
    row.peak_memory_mb = m.peak_memory_mb
    row.last_hidden_shift = finite(m.last_hidden_shift)
    row.n_test, row.final_test_accuracy = m.n_test, m.final_test_accuracy
    row.final_test_loss, row.steps_to_target = finite(m.final_test_loss), m.steps_to_target
    row.final_train_r2, row.final_val_r2 = finite(m.final_train_r2), finite(m.final_val_r2)
    row.final_val_rmse, row.final_test_r2 = finite(m.final_val_rmse), finite(m.final_test_r2)
    row.step_p95_over_median = finite(m.step_p95_over_median)
    row.wall_over_steps = finite(m.wall_over_steps)
    return row


def finite(v: float | None) -> float | None:
    """NaN and inf become NULL: SQL has no portable NaN, and a diverged run is flagged anyway."""
    return None if v is None or v != v or v in (float("inf"), float("-inf")) else v


def detail_rows(job_id: str, r: BenchResult) -> list:
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
    rows += [epoch_row(job_id, e) for e in m.epochs]
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
                variance_ratio=finite(b.variance_ratio) or 0.0,
                variance_ratio_min=finite(b.variance_ratio_min) or 0.0,
                variance_ratio_max=finite(b.variance_ratio_max) or 0.0,
                mean_gap=finite(b.mean_gap) or 0.0,
                preceded_by_dropout=b.preceded_by_dropout,
                dropout_p=b.dropout_p,
                predicted_variance_ratio=finite(b.predicted_variance_ratio),
            )
        )
    return rows


def row_values(obj: Any) -> dict[str, Any]:
    """The column values of an unsaved ORM row, for a Core executemany."""
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns if c.key != "id"}


def epoch_row(job_id: str, e: EpochMetrics) -> EpochMetric:
    return EpochMetric(
        job_id=job_id,
        epoch=e.epoch,
        train_loss=finite(e.train_loss),
        train_accuracy=e.train_accuracy,
        val_loss=finite(e.val_loss),
        val_accuracy=e.val_accuracy,
        val_loss_train_mode=finite(e.val_loss_train_mode),
        val_accuracy_train_mode=e.val_accuracy_train_mode,
        epoch_time_s=e.epoch_time_s,
        wall_time_s=e.wall_time_s,
        last_hidden_p15=finite(e.last_hidden_p15),
        last_hidden_p50=finite(e.last_hidden_p50),
        last_hidden_p85=finite(e.last_hidden_p85),
        last_hidden_shift=finite(e.last_hidden_shift),
        val_r2=finite(e.val_r2),
    )
