"""Per-deployment limits on what one job may ask for, below the schema's own maxima.

They are checked when a job is submitted and again by the worker, so a client that skips the
check (a raw Celery message) still cannot hold a GPU with a huge job. The time limit per job
is BNBENCH_JOB_TIME_LIMIT_S, enforced by the worker.

BNBENCH_MAX_MODEL_MB caps the memory a spec is estimated to need (core.spec.memory).
Unset, a worker applies a share of its own device's memory, and submission the largest
budget among the live workers of the job's queue.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from core.errors import ConfigError
from core.spec.memory import MIB, MemoryEstimate, estimate
from core.spec.parse import SpecError
from core.spec.schema import BenchSpec

ENV = {
    "max_epochs": "BNBENCH_MAX_EPOCHS",
    "max_train_samples": "BNBENCH_MAX_TRAIN_SAMPLES",
    "max_model_mb": "BNBENCH_MAX_MODEL_MB",
}


def _limit(name: str) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} must be a whole number, or empty for no limit") from None
    if value < 1:
        raise ConfigError(f"{name}={raw!r} must be at least 1, or empty for no limit")
    return value


def _largest_part(spec: BenchSpec, est: MemoryEstimate) -> str:
    """The field to lower first: the one behind the largest share of the estimate."""
    if spec.kind == "layer":
        return "shape"
    weights = est.training_bytes - 8 * est.activations_per_sample * spec.batch_size
    parts = {
        "width": weights,
        "batch_size": est.training_bytes - weights,
        "infer_batch_sizes": est.inference_bytes,
        "synthetic_samples" if spec.dataset.startswith("synthetic") else "dataset": est.data_bytes,
    }
    return max(parts, key=lambda k: parts[k])


@dataclass(frozen=True)
class Limits:
    max_epochs: int | None = None
    max_train_samples: int | None = None
    max_model_mb: int | None = None

    @classmethod
    def from_env(cls, default_model_mb: int | None = None) -> Limits:
        """The deployment's limits; default_model_mb applies when BNBENCH_MAX_MODEL_MB is unset."""
        limits = {field: _limit(var) for field, var in ENV.items()}
        if limits["max_model_mb"] is None:
            limits["max_model_mb"] = default_model_mb
        return cls(**limits)

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
        if self.max_model_mb is not None:
            est = estimate(spec)
            if est.total_bytes > self.max_model_mb * MIB:
                out.append((_largest_part(spec, est), (
                    f"the spec needs {est.summary()}, over this deployment's limit of "
                    f"{self.max_model_mb:,} MiB ({ENV['max_model_mb']}); lower it, or ask the "
                    "operator to raise the limit"
                )))  # fmt: skip
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
