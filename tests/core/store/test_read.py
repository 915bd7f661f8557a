"""The query API: spec filters in SQL, and repeat statistics checked against hand computation."""

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import update

from core.repeat_stats import describe, t_quantile_975
from core.store.db import session_scope
from core.store.jobs import create_job
from core.store.read import (
    JobNotFound,
    ResultFilter,
    compare_repeats,
    query_records,
    resolve_job_id,
    results_frame,
)
from core.store.tables import Job
from tests.dbseed import seed, variant

H100 = {"gpu_name": "NVIDIA H100 80GB HBM3", "device": "cuda"}


@pytest.fixture
def seeded(db_url, sample_result):
    """BN and no-BN at dropout 0.1 and 0.5, three seeds each, with chosen accuracies."""
    base, result = sample_result
    ids = {}
    for norm in ("batchnorm", "none"):
        for p, accs in ((0.1, (0.5, 0.7, 0.9)), (0.5, (0.6, 0.6, 0.9))):
            for seed_, acc in enumerate(accs):
                spec = base.with_overrides(norm=norm, dropout_p=p, seed=seed_)
                r = variant(
                    result,
                    spec,
                    provenance=H100 if norm == "none" else None,
                    final_val_accuracy=acc,
                )
                ids[(norm, p, seed_)] = seed(db_url, spec, r, group_id="sweep", label=f"{norm}-{p}")
    create_job(base.with_overrides(seed=99), url=db_url, group_id="sweep")  # still queued
    return ids


def test_filters_by_spec_fields_in_sql(seeded, db_url):
    recs = query_records(ResultFilter(spec={"norm": "none", "dropout_p": 0.5}))
    assert len(recs) == 3
    assert {r["spec.norm"] for r in recs} == {"none"}
    assert {r["spec.dropout_p"] for r in recs} == {0.5}
    assert len(query_records(ResultFilter(spec={"dropout_p": [0.1, 0.5], "seed": 0}))) == 4
    assert len(query_records(ResultFilter(spec={"bn_momentum": 0.1, "bn_affine": True}))) == 13
    assert query_records(ResultFilter(spec={"target_val_accuracy": None}))  # JSON null


def test_filters_by_status_group_label_gpu_and_time(seeded, db_url):
    assert len(query_records(ResultFilter(status=("queued",)))) == 1
    assert len(query_records(ResultFilter(group_id="sweep"))) == 13
    assert len(query_records(ResultFilter(label="batchnorm-0.1"))) == 3
    assert len(query_records(ResultFilter(gpu="h100"))) == 6
    assert len(query_records(ResultFilter(gpu="cpu"))) == 6
    now = datetime.now(UTC)
    assert len(query_records(ResultFilter(since=now - timedelta(hours=1)))) == 13
    assert query_records(ResultFilter(until=now - timedelta(hours=1))) == []


def test_records_are_newest_first_with_limit_and_offset(seeded, db_url):
    old = seeded[("batchnorm", 0.1, 0)]
    with session_scope(db_url) as s:
        s.execute(
            update(Job).where(Job.id == old).values(created_at=datetime(2020, 1, 1, tzinfo=UTC))
        )
    recs = query_records(limit=5)
    assert len(recs) == 5 and old not in {r["job_id"] for r in recs}
    assert query_records(limit=1, offset=12)[0]["job_id"] == old
    assert query_records()[-1]["created_at"].tzinfo is not None


def test_a_record_is_read_only_and_becomes_a_plain_dict_for_json(seeded, db_url):
    from dataclasses import FrozenInstanceError

    from core.store.read import job_record
    from core.store.tables import JobStatus

    [rec] = query_records(ResultFilter(job_ids=(seeded[("none", 0.5, 2)],)))
    assert rec.job_id == rec["job_id"] and rec.status is JobStatus.SUCCEEDED
    assert rec.spec_fields["norm"] == "none" and rec.spec_fields["seed"] == 2
    with pytest.raises(TypeError):
        rec["status"] = "failed"
    with pytest.raises(FrozenInstanceError):
        rec.extra = 1
    plain = rec.as_dict()
    assert type(plain) is dict and plain == rec
    full = job_record(rec.job_id)
    assert full["spec"]["norm"] == "none" and full["result"]["spec_hash"] == rec["spec_hash"]


def test_unknown_spec_field_in_a_filter_is_named(seeded):
    with pytest.raises(ValueError, match="dropout: not a spec field; did you mean dropout_p"):
        query_records(ResultFilter(spec={"dropout": 0.5}))


def test_repeats_are_grouped_with_median_iqr_and_ci(seeded, db_url):
    df = compare_repeats(ResultFilter(spec={"norm": "batchnorm"}), ("final_val_accuracy",))
    assert len(df) == 2 and set(df["repeats"]) == {3}
    row = df[df["spec.dropout_p"] == 0.1].iloc[0]
    # hand computed for 0.5, 0.7, 0.9
    assert row["final_val_accuracy.median"] == pytest.approx(0.7)
    assert row["final_val_accuracy.p25"] == pytest.approx(0.6)
    assert row["final_val_accuracy.p75"] == pytest.approx(0.8)
    assert row["final_val_accuracy.iqr"] == pytest.approx(0.2)
    half = 4.302653 * 0.2 / math.sqrt(3)  # t(0.975, 2 dof)
    assert row["final_val_accuracy.ci_low"] == pytest.approx(0.7 - half)
    assert row["final_val_accuracy.ci_high"] == pytest.approx(0.7 + half)
    other = df[df["spec.dropout_p"] == 0.5].iloc[0]
    assert other["final_val_accuracy.median"] == pytest.approx(0.6)
    assert "spec.seed" not in df.columns


def test_a_timing_ci_stays_positive_and_an_outlier_marks_it_noisy():
    """Issue 14: one job at 356 samples/s among ~60k gave a CI of -61,035 samples/s."""
    import pandas as pd

    from core.repeat_stats import noisy_metrics, summarize_groups

    df = pd.DataFrame({"repeat_key": ["k"] * 3, "train_samples_per_s": [60_000.0, 61_000.0, 356.0]})
    row = summarize_groups(df, ["train_samples_per_s"]).iloc[0]
    assert 0 < row["train_samples_per_s.ci_low"] < row["train_samples_per_s.ci_high"]
    assert noisy_metrics(row, ["train_samples_per_s"]) == ["train_samples_per_s"]
    logs = [math.log(v) for v in (60_000.0, 61_000.0, 356.0)]  # the geometric mean's t CI
    mean, sd = sum(logs) / 3, pd.Series(logs).std()
    expected = math.exp(mean - 4.302653 * sd / math.sqrt(3))
    assert row["train_samples_per_s.ci_low"] == pytest.approx(expected, rel=1e-5)
    steady = df.assign(train_samples_per_s=[60_000.0, 61_000.0, 60_500.0])
    assert noisy_metrics(summarize_groups(steady, ["train_samples_per_s"]).iloc[0],
                         ["train_samples_per_s"]) == []  # fmt: skip


def test_repeat_groups_ignore_unfinished_jobs(seeded, db_url):
    assert compare_repeats(ResultFilter(group_id="sweep"))["repeats"].sum() == 12


def test_unknown_metric_is_named(seeded):
    with pytest.raises(ValueError, match="unknown metric accuracy"):
        compare_repeats(metrics=("accuracy",))


def test_frame_flattens_the_spec_into_columns(seeded, db_url):
    df = results_frame(ResultFilter(group_id="sweep"))
    assert {"spec.norm", "spec.dropout_p", "final_val_accuracy", "gpu_name"} <= set(df.columns)
    assert len(df) == 13


def test_job_ids_resolve_from_a_unique_prefix(seeded, db_url):
    job_id = seeded[("none", 0.5, 2)]
    assert resolve_job_id(job_id[:12]) == job_id
    with pytest.raises(JobNotFound, match="at least 4"):
        resolve_job_id("ab")
    with pytest.raises(JobNotFound, match="no job id starts with"):
        resolve_job_id("zzzzzz")


def test_statistics_helpers():
    stats = describe(np.array([1.0, 2.0, 3.0, 4.0, math.nan]))
    assert stats["n"] == 4 and stats["median"] == 2.5 and stats["iqr"] == pytest.approx(1.5)
    assert t_quantile_975(1) == pytest.approx(12.706, abs=1e-3)  # scipy.stats.t.ppf
    assert t_quantile_975(200) == pytest.approx(1.972, abs=1e-3)
    assert math.isnan(describe(np.array([5.0]))["ci_low"])


def test_grouped_statistics_from_the_database_equal_pandas(db_url, sample_result):
    """On PostgreSQL compare_repeats aggregates in SQL (percentile_cont, stddev_samp, ln);
    its figures must be summarize_groups' over the same rows."""
    import pandas as pd

    from core.repeat_stats import STATS, summarize_groups
    from core.store.read import DEFAULT_METRICS, ResultFilter, compare_repeats, query_records
    from tests.dbseed import seed, variant

    base, result = sample_result
    tp = result.model.throughput
    for p, speeds in ((0.1, (900.0, 1000.0, 1300.0)), (0.4, (500.0, 510.0)), (0.7, (800.0,))):
        for s, speed in enumerate(speeds):
            spec = base.with_overrides(dropout_p=p, seed=s)
            fast = tp.model_copy(update={"samples_per_s": speed})
            r = variant(result, spec, final_val_accuracy=0.5 + p * s / 10, throughput=fast)
            seed(db_url, spec, r, group_id="g")
    got = compare_repeats(ResultFilter(group_id="g"), url=db_url)
    rows = pd.DataFrame.from_records(query_records(ResultFilter(group_id="g"), url=db_url))
    want = summarize_groups(rows, DEFAULT_METRICS)
    assert list(got["repeat_key"]) == list(want["repeat_key"])
    assert sorted(got["repeats"]) == [1, 2, 3]
    for m in DEFAULT_METRICS:
        for k in STATS:
            a, b = got[f"{m}.{k}"].to_numpy(float), want[f"{m}.{k}"].to_numpy(float)
            assert np.allclose(a, b, rtol=1e-9, equal_nan=True), (m, k, a, b)


def test_a_comparison_on_spec_fields_alone_reads_results_by_repeat_key(db_url, sample_result):
    """Filtered on spec fields only, a comparison reads results by their repeat key, without
    joining jobs: the same rows as the join, archived and unfinished jobs left out. On
    PostgreSQL, compare_repeats takes that path, and its figures are the join's."""
    import pandas as pd
    from sqlalchemy import select

    from core.store.annotations import archive
    from core.store.read import compare_select, keyed_select
    from core.store.tables import Job, Result

    base, result = sample_result
    ids = []
    for family in ("mlp", "cnn"):
        for p in (0.0, 0.5):
            for seed_ in range(3):
                spec = base.with_overrides(family=family, dropout_p=p, seed=seed_)
                acc = 0.5 + p / 2 + seed_ / 10
                r = variant(result, spec, final_val_accuracy=acc, train_samples_per_s=100.0 + seed_)
                ids.append(seed(db_url, spec, r, group_id="g"))
    archive([ids[0]])
    with session_scope(db_url) as s:  # a result whose job is no longer succeeded
        s.execute(update(Job).where(Job.id == ids[1]).values(status="failed"))
    create_job(base.with_overrides(seed=7), url=db_url)  # queued: no result

    def rows(f, keyed: bool):
        with session_scope(db_url, readonly=True) as s:
            if keyed:
                stmt = keyed_select(s, f)([Result.repeat_key, Result.job_id])
            else:
                stmt = compare_select(f, [Job.repeat_key, Job.id])
            return sorted(tuple(r) for r in s.execute(stmt))

    for f in (ResultFilter(spec={"family": "mlp"}), ResultFilter(spec={"dropout_p": [0.5]}),
              ResultFilter(), ResultFilter(spec={"family": "mlp"}, archived=None)):  # fmt: skip
        keyed = rows(f, keyed=True)
        assert keyed == rows(f, keyed=False) and keyed, f
    shown = {j for _, j in rows(ResultFilter(spec={"family": "mlp"}), keyed=True)}
    assert ids[0] not in shown and ids[1] not in shown and ids[2] in shown
    assert ids[0] in {j for _, j in keyed}  # archived=None shows archived jobs
    with session_scope(db_url, readonly=True) as s:
        for f in (ResultFilter(spec={"seed": 0}), ResultFilter(group_id="g"),
                  ResultFilter(spec={"family": "mlp"}, archived=True)):  # fmt: skip
            assert keyed_select(s, f) is None, f  # a field the key does not fix, or a job's
        assert s.scalar(select(Result.repeat_key).where(Result.job_id == ids[2])) == (
            base.with_overrides(family="mlp", dropout_p=0.0).repeat_key()
        )
    if not db_url.startswith("sqlite"):
        mlp = ResultFilter(spec={"family": "mlp"})
        via_join = ResultFilter(spec={"family": "mlp"}, status=("succeeded", "failed"))
        assert keyed_select_used(mlp) and not keyed_select_used(via_join)
        pd.testing.assert_frame_equal(compare_repeats(mlp), compare_repeats(via_join))


def keyed_select_used(f) -> bool:
    from core.store.read import keyed_select

    with session_scope(readonly=True) as s:
        return keyed_select(s, f) is not None


def _plan(url: str, stmt) -> str:
    from sqlalchemy import text

    from core.store.db import get_engine

    engine = get_engine(url)
    sql = stmt.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        return " / ".join(r[-1] for r in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))


def test_sqlite_gathers_statistics_once_results_grow_and_then_compares_from_indexes_alone(
    tmp_path, monkeypatch, sample_result
):
    """Without statistics SQLite reads each result's table row, past result_json's overflow
    pages; the writer runs a bounded ANALYZE each time the results pass a power of two."""
    from sqlalchemy import text

    from core.store.db import get_engine
    from core.store.migrate import upgrade
    from core.store.read import compare_select
    from core.store.tables import COMPARE_METRICS, Result
    from core.store.write import save_results

    url = f"sqlite:///{tmp_path / 'stats.db'}"
    monkeypatch.setenv("BNBENCH_DATABASE_URL", url)
    upgrade(url)
    spec, result = sample_result

    def write(n: int, first: int) -> None:
        items = []
        for i in range(first, first + n):
            s = spec.with_overrides(seed=i, family="mlp" if i % 2 else "cnn")
            items.append((create_job(s, url=url, status="running"), variant(result, s)))
        assert save_results(items, url) == n

    def analyzed() -> bool:
        with get_engine(url).connect() as conn:
            q = "SELECT count(*) FROM sqlite_stat1 WHERE idx = 'ix_results_compare'"
            return conn.execute(text(q)).scalar() > 0

    cols = [Job.repeat_key, Job.id, *(getattr(Result, m) for m in COMPARE_METRICS)]
    family = compare_select(ResultFilter(spec={"family": "mlp"}), cols)
    write(63, 0)
    assert not analyzed()
    assert "COVERING INDEX ix_results_compare" not in _plan(url, family)
    write(1, 63)
    assert analyzed()
    plan = _plan(url, family)
    assert "COVERING INDEX ix_jobs_spec_family_compare" in plan, plan
    assert "COVERING INDEX ix_results_compare" in plan, plan
    assert "environments" not in plan  # joined only when filtered on a GPU
    assert "environments" in _plan(url, compare_select(ResultFilter(gpu="h100"), cols))
    out = compare_repeats(ResultFilter(spec={"family": "mlp"}), url=url)
    assert len(out) == 1 and out["repeats"].iloc[0] == 32
