"""Repeat-group statistics aggregated by PostgreSQL, for comparisons over many results.

The same figures as `core.repeat_stats.summarize_groups`, but the database computes the
per-group count, quartiles (`percentile_cont`, the same linear interpolation as pandas), mean
and standard deviation, and the log-scale ones of timings; only one row per group crosses the
wire instead of every result. Used where the dialect has ordered-set aggregates.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from sqlalchemy import Float, Integer, Select, func
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.orm import Session

from core.dbmodels import Job, Result
from core.repeat_stats import STATS, is_timing

QUARTILES = [0.25, 0.5, 0.75]


def summarizable(dialect: str, metrics: tuple[str, ...] | list[str]) -> bool:
    """PostgreSQL, and only numeric columns (a JSON or boolean column takes the pandas path)."""
    numeric = all(isinstance(getattr(Result, m).type, Float | Integer) for m in metrics)
    return dialect == "postgresql" and numeric


def summarize_in_sql(
    session: Session, select_where: Callable[[list], Select], metrics: tuple[str, ...] | list[str]
) -> tuple[pd.DataFrame, list[str]]:
    """(summarize_groups' frame, the smallest job id of each group). `select_where(columns)`
    gives the filtered select over jobs, results and environments."""
    cols: list = [Job.repeat_key, func.count().label("repeats"), func.min(Job.id)]
    for m in metrics:
        v = getattr(Result, m)
        cols += [func.count(v), func.percentile_cont(array(QUARTILES)).within_group(v),
                 func.avg(v), func.stddev_samp(v)]  # fmt: skip
        if is_timing(m):
            pos = v > 0
            cols += [func.count(v).filter(pos), func.avg(func.ln(v)).filter(pos),
                     func.stddev_samp(func.ln(v)).filter(pos)]  # fmt: skip
    rows = session.execute(select_where(cols).group_by(Job.repeat_key)).all()
    keys = [r[0] for r in rows]
    parts: dict[str, object] = {"repeat_key": keys, "repeats": [r[1] for r in rows]}
    first_ids = [r[2] for r in rows]
    at = 3
    from scipy.stats import t as student

    for m in metrics:
        width = 7 if is_timing(m) else 4
        block = [r[at : at + width] for r in rows]
        at += width
        n = np.array([b[0] for b in block], dtype=float)
        q = np.array([b[1] if b[1] is not None else [np.nan] * 3 for b in block], dtype=float)
        q = q.reshape(len(rows), 3)
        mean = np.array([np.nan if b[2] is None else float(b[2]) for b in block])
        std = np.array([np.nan if b[3] is None else float(b[3]) for b in block])
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(n > 1, student.ppf(0.975, np.maximum(n - 1, 1)), np.nan)
            half = t * std / np.sqrt(np.where(n > 0, n, np.nan))
            low, high = mean - half, mean + half
            if width == 7:
                n_pos = np.array([b[4] for b in block], dtype=float)
                lmean = np.array([np.nan if b[5] is None else float(b[5]) for b in block])
                lstd = np.array([np.nan if b[6] is None else float(b[6]) for b in block])
                lhalf = t * lstd / np.sqrt(np.where(n > 0, n, np.nan))
                use = n_pos == n
                low = np.where(use, np.exp(lmean - lhalf), low)
                high = np.where(use, np.exp(lmean + lhalf), high)
            p25, med, p75 = q[:, 0], q[:, 1], q[:, 2]
            rel = (p75 - p25) / np.where(med != 0, np.abs(med), np.nan)
        parts.update({
            f"{m}.n": n, f"{m}.median": med, f"{m}.p25": p25, f"{m}.p75": p75,
            f"{m}.iqr": p75 - p25, f"{m}.rel_iqr": rel, f"{m}.mean": mean, f"{m}.std": std,
            f"{m}.ci_low": low, f"{m}.ci_high": high,
        })  # fmt: skip
    cols_out = ["repeat_key", "repeats"] + [f"{m}.{k}" for m in metrics for k in STATS]
    df = pd.DataFrame(parts, columns=cols_out).assign(_first=first_ids)
    df = df.sort_values("repeat_key", kind="stable").reset_index(drop=True)
    return df.drop(columns="_first"), df["_first"].tolist()
