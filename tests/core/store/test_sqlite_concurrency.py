"""Eight processes writing results into one SQLite file: nothing lost, no lock errors."""

import multiprocessing as mp

from sqlalchemy import func, select

from core.store.db import session_scope
from core.store.migrate import upgrade
from core.store.tables import EpochMetric, Job, Result

WRITERS = 8
JOBS_EACH = 6


def _writer(url: str, result_json: str, spec_json: str, n: int, q) -> None:
    from core.engine.result import BenchResult
    from core.spec.schema import BenchSpec
    from core.store.jobs import create_job
    from core.store.write import save_result

    try:
        result = BenchResult.model_validate_json(result_json)
        spec = BenchSpec.model_validate_json(spec_json)
        for _ in range(n):
            job_id = create_job(spec, url=url, status="running")
            assert save_result(job_id, result, url)
            assert not save_result(job_id, result, url)
        q.put("ok")
    except BaseException as e:  # report to the parent instead of dying silently
        q.put(f"{type(e).__name__}: {e}")


def test_eight_processes_write_to_one_sqlite_file(tmp_path, sample_result):
    spec, result = sample_result
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    upgrade(url)
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    args = (url, result.model_dump_json(), spec.canonical_json(), JOBS_EACH, q)
    procs = [ctx.Process(target=_writer, args=args) for _ in range(WRITERS)]
    for p in procs:
        p.start()
    outcomes = [q.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(30)
    assert outcomes == ["ok"] * WRITERS
    with session_scope(url) as s:
        assert s.scalar(select(func.count()).select_from(Job)) == WRITERS * JOBS_EACH
        assert s.scalar(select(func.count()).select_from(Result)) == WRITERS * JOBS_EACH
        epochs = s.scalar(select(func.count()).select_from(EpochMetric))
    assert epochs == WRITERS * JOBS_EACH * len(result.model.epochs)
