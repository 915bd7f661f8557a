"""The fleet matrix: each benchmark's speed on each machine (or torch version), as a ratio to
one chosen column, with its interval and a noise flag.

A benchmark is a job's label (a suite run labels each arm), else its spec's repeat key. A
job's speed is its training throughput, or for a layer job the inverse of its median time
per call, so that a ratio above 1 is always faster than the reference. The interval is the
95% percentile bootstrap of the ratio of medians over the jobs (seeds) in each cell
(scipy.stats.bootstrap); a cell is noisy when either side's IQR exceeds 10% of its median.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from core.repeat_stats import NOISY_REL_IQR, describe, ratio_of_medians_ci
from core.store.db import session_scope
from core.store.tables import Environment, Job, JobStatus, LayerMetric, Result

COLUMNS = {"machine": "GPU model (or CPU)", "torch": "torch version"}


def speeds(group_ids: Sequence[str], url: str | None = None) -> pd.DataFrame:
    """One row per succeeded job of the groups: benchmark, machine, torch, speed."""
    layer_ms = (
        select(LayerMetric.job_id, func.min(LayerMetric.median_ms).label("median_ms"))
        .group_by(LayerMetric.job_id)
        .subquery()
    )
    stmt = (
        select(
            Job.id,
            Job.label,
            Job.repeat_key,
            Environment.gpu_name,
            Environment.cpu_model,
            Environment.torch,
            Result.train_samples_per_s,
            layer_ms.c.median_ms,
        )
        .join(Result, Result.job_id == Job.id)
        .join(Environment, Environment.id == Result.environment_id)
        .outerjoin(layer_ms, layer_ms.c.job_id == Job.id)
        .where(Job.group_id.in_(list(group_ids)), Job.status == JobStatus.SUCCEEDED)
    )
    with session_scope(url, readonly=True) as s:
        rows = s.execute(stmt).all()
    df = pd.DataFrame.from_records(
        rows,
        columns=[
            "job_id",
            "label",
            "repeat_key",
            "gpu_name",
            "cpu_model",
            "torch",
            "samples_per_s",
            "median_ms",
        ],
    )
    if df.empty:
        return df.assign(benchmark=[], machine=[], speed=[])
    layer_speed = 1000.0 / df["median_ms"]
    df["speed"] = df["samples_per_s"].where(df["samples_per_s"].notna(), layer_speed)
    df["benchmark"] = df["label"].fillna(df["repeat_key"])
    df["machine"] = df["gpu_name"].fillna("CPU " + df["cpu_model"].astype(str))
    return df.dropna(subset=["speed"])


def cell(values: np.ndarray, reference: np.ndarray) -> dict[str, Any]:
    """The ratio of medians of `values` to `reference`, its interval, and whether either is
    noisy."""
    ratio = float(np.median(values) / np.median(reference))
    low = high = None
    if len(values) >= 2 and len(reference) >= 2:
        low, high = ratio_of_medians_ci(values, reference)
    noisy = max(describe(values)["rel_iqr"], describe(reference)["rel_iqr"]) > NOISY_REL_IQR
    return {"ratio": ratio, "low": low, "high": high, "noisy": noisy, "n": len(values)}


def columns_of(df: pd.DataFrame, by: str) -> list[str]:
    """The matrix's columns: the values of `by` (machine or torch) among the jobs, sorted."""
    return sorted(df[by].astype(str).unique())


def matrix(df: pd.DataFrame, by: str = "machine", reference: str | None = None) -> pd.DataFrame:
    """Rows: benchmarks; columns: the values of `by`; each cell a dict from `cell` against
    the `reference` column (default: the first), or None where a side has no jobs."""
    if by not in COLUMNS:
        raise ValueError(f"by={by!r}: choose one of {', '.join(COLUMNS)}")
    if df.empty:
        return pd.DataFrame()
    columns = columns_of(df, by)
    reference = reference if reference in columns else columns[0]
    out: dict[str, dict[str, Any]] = {}
    for bench, g in df.groupby("benchmark", sort=True):
        ref = g.loc[g[by].astype(str) == reference, "speed"].to_numpy(float)
        row: dict[str, Any] = {}
        for c in columns:
            vals = g.loc[g[by].astype(str) == c, "speed"].to_numpy(float)
            row[c] = cell(vals, ref) if len(vals) and len(ref) else None
        out[str(bench)] = row
    return pd.DataFrame.from_dict(out, orient="index")[columns]


def label(c: dict[str, Any] | None) -> str:
    """A cell as text: 1.85× [1.71, 1.97], with a warning sign when noisy."""
    if not c:
        return "-"
    ci = f" [{c['low']:.2f}, {c['high']:.2f}]" if c["low"] is not None else ""
    return f"{c['ratio']:.2f}×{ci}" + (" ⚠ noisy" if c["noisy"] else "")
