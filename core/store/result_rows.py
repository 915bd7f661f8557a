"""Result rows: a BenchResult flattened into the summary row and its detail rows.

Rows are plain dicts of every column, for a Core executemany: building ORM instances only to
read their attributes back cost about a third of writing a result.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from sqlalchemy import Table

from core.engine.result import BenchResult, EpochMetrics
from core.store.fingerprints import fingerprint, parts_of
from core.store.tables import BNLayerStat, EpochMetric, InferenceMetric, LayerMetric, Result


@functools.cache
def _blank(table: Table) -> dict[str, Any]:
    return {c.key: None for c in table.columns if c.key != "id"}


def values(model: Any, **fields: Any) -> dict[str, Any]:
    """Every column of `model`'s table but the key, None where not given. An unknown name
    raises, as the model's constructor would."""
    row = dict(_blank(model.__table__))
    unknown = fields.keys() - row.keys()
    if unknown:
        raise TypeError(f"{model.__name__} has no column {sorted(unknown)[0]!r}")
    row.update(fields)
    return row


def result_row(job_id: str, env_id: int, r: BenchResult) -> dict[str, Any]:
    row: dict[str, Any] = dict(
        job_id=job_id,
        environment_id=env_id,
        total_time_s=r.total_time_s,
        load_avg_1m=r.load_avg_1m,
        load_avg_1m_start=r.load_avg_1m_start,
        cpu_steal_fraction=r.cpu_steal_fraction,
        fingerprint=fingerprint(parts_of(r.provenance, bool(r.spec.get("deterministic")))),
        diverged=False,
        result_json=json.loads(r.model_dump_json()),
    )
    m = r.model
    if m is None:
        return values(Result, **row)
    tp, g = m.throughput, m.mode_gap
    row.update(
        task=m.task, param_count=m.param_count, n_train=m.n_train, n_val=m.n_val,
        train_time_s=m.train_time_s,
        final_train_accuracy=m.final_train_accuracy, final_val_accuracy=m.final_val_accuracy,
        best_val_accuracy=m.best_val_accuracy,
        final_train_loss=finite(m.final_train_loss), final_val_loss=finite(m.final_val_loss),
        generalization_gap=m.generalization_gap,
        generalization_gap_loss=finite(m.generalization_gap_loss),
        mode_accuracy_eval=g.accuracy_eval, mode_accuracy_train=g.accuracy_train_mode,
        mode_accuracy_gap=g.accuracy_gap, mode_output_rel_diff=finite(g.output_rel_diff),
        time_to_target_s=m.time_to_target_s, epochs_to_target=m.epochs_to_target,
        diverged=m.diverged, diverged_epoch=m.diverged_epoch,
        peak_memory_mb=m.peak_memory_mb, last_hidden_shift=finite(m.last_hidden_shift),
        n_test=m.n_test, final_test_accuracy=m.final_test_accuracy,
        final_test_loss=finite(m.final_test_loss), steps_to_target=m.steps_to_target,
        final_train_r2=finite(m.final_train_r2), final_val_r2=finite(m.final_val_r2),
        final_val_rmse=finite(m.final_val_rmse), final_test_r2=finite(m.final_test_r2),
        step_p95_over_median=finite(m.step_p95_over_median),
        wall_over_steps=finite(m.wall_over_steps),
    )  # fmt: skip
    if tp is not None:
        row.update(
            train_samples_per_s=tp.samples_per_s, train_samples_per_s_p25=tp.samples_per_s_p25,
            train_samples_per_s_p75=tp.samples_per_s_p75, step_ms_median=tp.step.median_ms,
            step_ms_iqr=tp.step.iqr_ms, step_n=tp.step.n,
        )  # fmt: skip
    if m.bn_stats:
        fed = [b.variance_ratio for b in m.bn_stats if b.preceded_by_dropout]
        row.update(
            bn_variance_ratio=sum(b.variance_ratio for b in m.bn_stats) / len(m.bn_stats),
            bn_mean_gap=sum(b.mean_gap for b in m.bn_stats) / len(m.bn_stats),
            bn_variance_ratios=[finite(b.variance_ratio) for b in m.bn_stats],
            bn_variance_ratio_dropout_fed=finite(sum(fed) / len(fed)) if fed else None,
        )
    if m.fold is not None:
        row.update(fold_matches=m.fold.matches, fold_max_abs_diff=finite(m.fold.max_abs_diff),
                   folded_layers=m.fold.folded_layers)  # fmt: skip
    return values(Result, **row)


def finite(v: float | None) -> float | None:
    """NaN and inf become NULL: SQL has no portable NaN, and a diverged run is flagged anyway."""
    return None if v is None or v != v or v in (float("inf"), float("-inf")) else v


def detail_rows(job_id: str, r: BenchResult) -> list[tuple[Table, dict[str, Any]]]:
    """(table, row) of each detail row: layer timing, epochs, inference points, BN layers."""
    rows: list[tuple[Any, dict[str, Any]]] = []
    if r.layer is not None:
        lr = r.layer
        rows.append(
            _row(
                LayerMetric,
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
    rows += [(EpochMetric.__table__, epoch_values(job_id, e)) for e in m.epochs]
    for p in m.inference:
        rows.append(
            _row(
                InferenceMetric,
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
            _row(
                BNLayerStat,
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


def _row(model: Any, **fields: Any) -> tuple[Table, dict[str, Any]]:
    return model.__table__, values(model, **fields)


def row_values(obj: Any) -> dict[str, Any]:
    """The column values of an unsaved ORM row, for a Core executemany."""
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns if c.key != "id"}


def epoch_row(job_id: str, e: EpochMetrics) -> EpochMetric:
    return EpochMetric(**epoch_values(job_id, e))


def epoch_values(job_id: str, e: EpochMetrics) -> dict[str, Any]:
    return values(
        EpochMetric,
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
