"""Repeat-group statistics aggregated by PostgreSQL, for comparisons over many results.

The same figures as `core.repeat_stats.summarize_groups`, but the database computes the
per-group count, quartiles (`percentile_cont`, the same linear interpolation as pandas), mean
and standard deviation, and the log-scale ones of timings; only one row per group crosses the
wire instead of every result. `repeat_stats.from_aggregates` turns them into the figures, as
it does pandas' aggregates. Used where the dialect has ordered-set aggregates.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Connection, Float, Integer, Select, and_, func, text, true
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.orm import Session

from core.repeat_stats import from_aggregates, is_timing
from core.store.tables import Job, Result

QUARTILES = [0.25, 0.5, 0.75]
PARTS = 2  # connections a grouped comparison is split over


def numeric(metrics: tuple[str, ...] | list[str]) -> bool:
    """Only Float and Integer columns (not JSON or boolean ones)."""
    return all(isinstance(getattr(Result, m).type, Float | Integer) for m in metrics)


def summarizable(dialect: str, metrics: tuple[str, ...] | list[str]) -> bool:
    """PostgreSQL, and only numeric columns (a JSON or boolean column takes the pandas path)."""
    return dialect == "postgresql" and numeric(metrics)


def key_ranges(parts: int) -> list[ColumnElement[bool]]:
    """`parts` disjoint conditions on the repeat key that cover every key: ranges of its first
    hex digit, the first one open below and the last open above."""
    bounds = [format(i * 16 // parts, "x") for i in range(1, parts)]
    lows: list[str | None] = [None, *bounds]
    highs: list[str | None] = [*bounds, None]
    out: list[ColumnElement[bool]] = []
    for low, high in zip(lows, highs, strict=True):
        conds = [Job.repeat_key >= low] if low else []
        conds += [Job.repeat_key < high] if high else []
        out.append(and_(true(), *conds))
    return out


def summarize_in_sql(
    session: Session,
    select_where: Callable[[list[Any]], Select[Any]],
    metrics: tuple[str, ...] | list[str],
    parts: int = PARTS,
) -> tuple[pd.DataFrame, list[str]]:
    """(summarize_groups' frame, the smallest job id of each group). `select_where(columns)`
    gives the filtered select over jobs, results and environments.

    PostgreSQL computes ordered-set aggregates (the quartiles) in one process after it has
    gathered and sorted every row: at 500k results that is most of the query's time, on one
    core. So the groups are split into `parts` disjoint ranges of repeat keys, each aggregated
    on a connection of its own, at the same time; the groups' figures do not change."""
    cols: list[Any] = [Job.repeat_key, func.count().label("repeats"), func.min(Job.id)]
    for m in metrics:
        v = getattr(Result, m)
        cols += [func.count(v), func.percentile_cont(array(QUARTILES)).within_group(v),
                 func.avg(v), func.stddev_samp(v)]  # fmt: skip
        if is_timing(m):
            pos = v > 0
            cols += [func.count(v).filter(pos), func.avg(func.ln(v)).filter(pos),
                     func.stddev_samp(func.ln(v)).filter(pos)]  # fmt: skip
    stmt = select_where(cols).group_by(Job.repeat_key)
    if parts <= 1:
        rows = _aggregate(session.connection(), stmt)
    else:
        engine = session.get_bind().engine

        def one(where: ColumnElement[bool]) -> list[Any]:
            with engine.connect() as c:
                return _aggregate(c, stmt.where(where))

        with ThreadPoolExecutor(parts) as pool:
            rows = [r for part in pool.map(one, key_ranges(parts)) for r in part]
    rows.sort(key=lambda r: r[0])  # the order pandas' groupby gives
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


def _aggregate(conn: Connection, stmt: Select[Any]) -> list[Any]:
    # JIT compiles this query's expressions for tens of ms (80-90 ms at 200k results), more
    # than it saves on a read of this size.
    conn.execute(text("SET LOCAL jit = off"))
    return list(conn.execute(stmt).all())
