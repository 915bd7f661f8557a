"""Seeding helpers: results with chosen figures, written through the real store."""

from __future__ import annotations

from typing import Any

from core.engine.result import BenchResult
from core.spec.schema import BenchSpec
from core.store.jobs import create_job
from core.store.write import save_result


def variant(
    result: BenchResult, spec: BenchSpec, provenance: dict | None = None, **model: Any
) -> BenchResult:
    """A copy of `result` for `spec` with some ModelResult fields and provenance replaced."""
    update: dict[str, Any] = {
        "spec": spec.model_dump(mode="json"),
        "spec_hash": spec.spec_hash(),
        "model": result.model.model_copy(update=model),
    }
    if provenance:
        update["provenance"] = result.provenance.model_copy(update=provenance)
    return result.model_copy(update=update)


def seed(url: str, spec: BenchSpec, result: BenchResult, **job: Any) -> str:
    job_id = create_job(spec, url=url, status="running", **job)
    save_result(job_id, result, url)
    return job_id
