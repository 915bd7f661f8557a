"""Repeat-group statistics aggregated by PostgreSQL, for comparisons over many results.

The same figures as `core.repeat_stats.summarize_groups`, but the database computes the
per-group count, quartiles (`percentile_cont`, the same linear interpolation as pandas), mean
and standard deviation, and the log-scale ones of timings; only one row per group crosses the
wire instead of every result. `repeat_stats.from_aggregates` turns them into the figures, as
it does pandas' aggregates. Used where the dialect has ordered-set aggregates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Float, Integer, Select, func, text
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.orm import Session

from core.repeat_stats import from_aggregates, is_timing
from core.store.tables import Job, Result

QUARTILES = [0.25, 0.5, 0.75]


def numeric(metrics: tuple[str, ...] | list[str]) -> bool:
    """Only Float and Integer columns (not JSON or boolean ones)."""
    return all(isinstance(getattr(Result, m).type, Float | Integer) for m in metrics)


def summarizable(dialect: str, metrics: tuple[str, ...] | list[str]) -> bool:
    """PostgreSQL, and only numeric columns (a JSON or boolean column takes the pandas path)."""
    return dialect == "postgresql" and numeric(metrics)


def summarize_in_sql(
    session: Session,
    select_where: Callable[[list[Any]], Select[Any]],
    metrics: tuple[str, ...] | list[str],
    keys: tuple[Any, Any] = (Job.repeat_key, Job.id),
) -> tuple[pd.DataFrame, list[str]]:
    """(summarize_groups' frame, the smallest job id of each group). `select_where(columns)`
    gives the filtered select over jobs, results and environments; `keys` are the columns
    of its repeat key and job id."""
    key, job_id = keys
    cols: list[Any] = [key, func.count().label("repeats"), func.min(job_id)]
    for m in metrics:
        v = getattr(Result, m)
        cols += [func.count(v), func.percentile_cont(array(QUARTILES)).within_group(v),
                 func.avg(v), func.stddev_samp(v)]  # fmt: skip
        if is_timing(m):
            pos = v > 0
            cols += [func.count(v).filter(pos), func.avg(func.ln(v)).filter(pos),
                     func.stddev_samp(func.ln(v)).filter(pos)]  # fmt: skip
    # JIT compiles this query's expressions for tens of ms (80-90 ms at 200k results), more
    # than it saves on a read of this size.
    session.execute(text("SET LOCAL jit = off"))
    rows = sorted(
        session.execute(select_where(cols).group_by(key)).all(), key=lambda r: r[0]
    )  # the order pandas' groupby gives
    aggs, at = {}, 3
    for m in metrics:
        width = 7 if is_timing(m) else 4
        block: list[list[Any]] = [
            [np.nan if v is None else v for v in r[at : at + width]] for r in rows
        ]
        at += width
        q = np.array(
            [b[1] if isinstance(b[1], list) else [np.nan] * 3 for b in block], float
        ).reshape(len(rows), 3)
        a = {"n": [b[0] for b in block], "p25": q[:, 0], "median": q[:, 1], "p75": q[:, 2],
             "mean": [float(b[2]) for b in block], "std": [float(b[3]) for b in block]}  # fmt: skip
        if width == 7:
            a |= {"log_n": [b[4] for b in block], "log_mean": [float(b[5]) for b in block],
                  "log_std": [float(b[6]) for b in block]}  # fmt: skip
        aggs[m] = a
    out = from_aggregates([r[0] for r in rows], [r[1] for r in rows], aggs)
    return out, [r[2] for r in rows]
