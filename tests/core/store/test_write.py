"""Writing jobs and results: full round trips, idempotence and provenance dedup."""

import math
import threading

import pytest
from sqlalchemy import func, select

from core.store.db import session_scope
from core.store.jobs import create_job, mark_failed
from core.store.tables import (
    BNLayerStat,
    Environment,
    EpochMetric,
    InferenceMetric,
    Job,
    LayerMetric,
    Result,
)
from core.store.write import load_result, save_result
from tests.dbseed import variant


def count(model, url) -> int:
    with session_scope(url) as s:
        return s.scalar(select(func.count()).select_from(model))


def test_a_full_result_round_trips(db_url, sample_result):
    spec, result = sample_result
    job_id = create_job(spec, url=db_url, status="running")
    assert save_result(job_id, result, db_url)
    assert load_result(job_id, db_url) == result
    m = result.model
    with session_scope(db_url) as s:
        job = s.get(Job, job_id)
        assert (job.status, job.progress, job.spec_hash) == ("succeeded", 1.0, spec.spec_hash())
        assert job.repeat_key == spec.repeat_key()
        row = s.scalar(select(Result).where(Result.job_id == job_id))
        assert row.final_val_accuracy == m.final_val_accuracy
        assert row.train_samples_per_s == m.throughput.samples_per_s
        assert row.mode_accuracy_gap == m.mode_gap.accuracy_gap
        assert row.environment.torch == result.provenance.torch
        # per-layer ratios, and a row figure over the layers dropout feeds, not over all
        assert row.bn_variance_ratios == pytest.approx([b.variance_ratio for b in m.bn_stats])
        fed = [b.variance_ratio for b in m.bn_stats if b.preceded_by_dropout]
        assert len(fed) == 1 < len(m.bn_stats)  # the default MLP: BN, act, dropout, Linear, BN
        assert row.bn_variance_ratio_dropout_fed == pytest.approx(fed[0])
    assert count(EpochMetric, db_url) == len(m.epochs)
    assert count(InferenceMetric, db_url) == len(m.inference)
    assert count(BNLayerStat, db_url) == len(m.bn_stats)


def test_writing_a_result_twice_keeps_one_copy(db_url, sample_result):
    spec, result = sample_result
    job_id = create_job(spec, url=db_url, status="running")
    assert save_result(job_id, result, db_url) is True
    assert save_result(job_id, result, db_url) is False
    assert count(Result, db_url) == 1
    assert count(EpochMetric, db_url) == len(result.model.epochs)


def test_concurrent_redeliveries_write_exactly_one_result(db_url, sample_result):
    spec, result = sample_result
    job_id = create_job(spec, url=db_url, status="running")
    outcomes = []
    threads = [
        threading.Thread(target=lambda: outcomes.append(save_result(job_id, result)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == [False, False, False, True]
    assert count(Result, db_url) == 1


def test_environments_are_deduplicated(db_url, sample_result):
    spec, result = sample_result
    for _ in range(3):
        save_result(create_job(spec, url=db_url, status="running"), result, db_url)
    other = variant(result, spec, provenance={"gpu_name": "NVIDIA H100", "device": "cuda"})
    save_result(create_job(spec, url=db_url, status="running"), other, db_url)
    assert count(Environment, db_url) == 2


def test_a_diverged_result_stores_nan_as_null_but_round_trips_exactly(db_url, sample_result):
    spec, result = sample_result
    nan_epochs = [e.model_copy(update={"train_loss": math.nan}) for e in result.model.epochs]
    diverged = variant(
        result, spec, epochs=nan_epochs, final_train_loss=math.nan, diverged=True, diverged_epoch=1
    )
    job_id = create_job(spec, url=db_url, status="running")
    save_result(job_id, diverged, db_url)
    back = load_result(job_id, db_url)
    assert math.isnan(back.model.final_train_loss) and back.model.diverged
    with session_scope(db_url) as s:
        row = s.scalar(select(Result).where(Result.job_id == job_id))
        assert row.final_train_loss is None and row.diverged


def test_a_layer_result_fills_layer_metrics(db_url):
    from core.engine.run import run
    from core.spec.schema import BenchSpec

    spec = BenchSpec(
        kind="layer",
        layer="dropout",
        shape=(8, 16),
        device="cpu",
        warmup_steps=1,
        timed_steps=2,
        repeats=2,
    )
    job_id = create_job(spec, url=db_url, status="running")
    save_result(job_id, run(spec), db_url)
    with session_scope(db_url) as s:
        lm = s.scalar(select(LayerMetric).where(LayerMetric.job_id == job_id))
        assert (lm.layer, lm.shape, lm.bytes_moved) == ("dropout", [8, 16], 2 * 128 * 4 + 128)


def test_failure_is_recorded_once_with_its_message(db_url, sample_result):
    spec, _ = sample_result
    job_id = create_job(spec, url=db_url, status="running")
    assert mark_failed(job_id, "DataError", "data_root: put the files there", db_url)
    assert not mark_failed(job_id, "Other", "second failure is ignored", db_url)
    with session_scope(db_url) as s:
        job = s.get(Job, job_id)
        assert (job.status, job.error_type) == ("failed", "DataError")
        assert job.finished_at is not None
