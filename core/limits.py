"""Per-deployment limits on what one job may ask for, below the schema's own maxima.

They are checked when a job is submitted and again by the worker, so a client that skips the
check (a raw Celery message) still cannot hold a GPU with a huge job. The time limit per job
is BNBENCH_JOB_TIME_LIMIT_S, enforced by the worker.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from core.spec import BenchSpec
from core.spec_io import SpecError

ENV = {
    "max_epochs": "BNBENCH_MAX_EPOCHS",
    "max_train_samples": "BNBENCH_MAX_TRAIN_SAMPLES",
}


def _limit(name: str) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} must be a whole number, or empty for no limit") from None
    if value < 1:
        raise ValueError(f"{name}={raw!r} must be at least 1, or empty for no limit")
    return value


@dataclass(frozen=True)
class Limits:
    max_epochs: int | None = None
    max_train_samples: int | None = None

    @classmethod
    def from_env(cls) -> Limits:
        return cls(**{field: _limit(var) for field, var in ENV.items()})

    def problems(self, spec: BenchSpec) -> list[tuple[str, str]]:
        out = []
        if self.max_epochs is not None and spec.epochs > self.max_epochs:
            out.append(("epochs", self._over(spec.epochs, self.max_epochs, "max_epochs")))
        samples = [("train_size", spec.train_size)]
        if spec.dataset.startswith("synthetic"):
            samples.insert(0, ("synthetic_samples", spec.synthetic_samples))
        for field, value in samples:
            limit = self.max_train_samples
            if limit is not None and value is not None and value > limit:
                out.append((field, self._over(value, limit, "max_train_samples")))
        return out

    @staticmethod
    def _over(value: int, limit: int, key: str) -> str:
        return (
            f"{value} is over this deployment's limit of {limit} ({ENV[key]}); "
            "lower it, or ask the operator to raise the limit"
        )

    def check(self, *specs: BenchSpec) -> None:
        """Raise SpecError naming each field over a limit (the first offending spec's)."""
        for spec in specs:
            if problems := self.problems(spec):
                raise SpecError(problems)
