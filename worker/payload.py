"""The task payload contract: kwargs {"spec": {...}, "job_id": optional UUID string}.

Any Celery client can send it without importing bnbench. A bad payload is answered with a
PayloadError naming the field and the fix; the worker records it as a failed job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from core.errors import FieldErrors
from core.spec.limits import Limits
from core.spec.parse import SpecError, validate_spec
from core.spec.schema import BenchSpec
from worker.envelope import named_job_id

ALLOWED = ("spec", "job_id")
MAX_SPEC_BYTES = 65536  # a real spec is about 1.5 KB


class PayloadError(FieldErrors):
    """What is wrong with a payload, field by field. `spec` is set when the spec itself was
    valid and only the payload around it, or a deployment limit, was not."""

    def __init__(self, problems: list[tuple[str, str]], spec: BenchSpec | None = None):
        super().__init__(problems)
        self.spec = spec


@dataclass(frozen=True)
class Payload:
    spec: BenchSpec
    job_id: str | None


def parse(args: tuple, kwargs: dict, limits: Limits | None = None) -> Payload:
    """The payload's spec and job id; PayloadError naming every fault, limits included."""
    problems: list[tuple[str, str]] = []
    if args:
        problems.append(
            (
                "args",
                "positional arguments are not accepted; send kwargs "
                '{"spec": {...}, "job_id": optional}',
            )
        )
    for key in kwargs:
        if key not in ALLOWED:
            problems.append((str(key), "unknown payload field; the task takes spec and job_id"))
    job_id = kwargs.get("job_id")
    if job_id is not None and named_job_id(kwargs) is None:
        problems.append(("job_id", f"must be a UUID string or absent, got {job_id!r:.80}"))
    if "spec" not in kwargs:
        problems.append(("spec", "missing; send the BenchSpec fields as a JSON object"))
        raise PayloadError(problems)
    raw: Any = kwargs["spec"]
    if not isinstance(raw, dict):
        problems.append(("spec", f"must be a JSON object of fields, got {type(raw).__name__}"))
        raise PayloadError(problems)
    size = len(json.dumps(raw, default=repr))
    if size > MAX_SPEC_BYTES:
        problems.append(
            (
                "spec",
                f"is {size} bytes, over the {MAX_SPEC_BYTES}-byte limit; "
                "a spec is a few KB of fields",
            )
        )
        raise PayloadError(problems)
    spec = None
    try:
        spec = validate_spec(raw)
        problems.extend((f"spec.{f}", m) for f, m in (limits or Limits.from_env()).problems(spec))
    except SpecError as e:
        problems.extend((f"spec.{f}", m) for f, m in e.problems)
    if problems or spec is None:
        raise PayloadError(problems, spec)
    return Payload(spec, named_job_id(kwargs))
