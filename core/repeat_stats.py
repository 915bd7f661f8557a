"""Statistics over repeats (seeds) of one experiment: median, IQR and a 95% CI.

Timing metrics (throughput, latency, durations) get a t interval on the log scale: a CI of
the geometric mean, which stays positive, where the plain t interval of one slow outlier
among fast runs reached below zero. `rel_iqr` (IQR / median) above NOISY_REL_IQR marks a
figure too noisy to compare, as torch.utils.benchmark warns at the same level.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

NOISY_REL_IQR = 0.10  # torch.utils.benchmark warns when IQR / median exceeds this
TIMING_SUFFIXES = ("_per_s", "_ms", "_s")


def t_quantile_975(dof: int) -> float:
    from scipy.stats import t

    return float(t.ppf(0.975, dof)) if dof >= 1 else math.nan


def is_timing(metric: str) -> bool:
    """Throughputs, latencies and durations: positive, and summarized on the log scale."""
    return metric.endswith(TIMING_SUFFIXES)


def describe(values: np.ndarray, log_scale: bool = False) -> dict[str, float]:
    """n, median, p25, p75, iqr, rel_iqr, mean, std and a t-based 95% CI (NaN if n < 2): of
    the mean, or with log_scale and positive values, of the geometric mean."""
    v = values[~np.isnan(values)]
    n = int(v.size)
    if n == 0:
        return dict.fromkeys(STATS, math.nan) | {"n": 0}
    p25, med, p75 = np.percentile(v, [25, 50, 75])
    mean = float(v.mean())
    std = float(v.std(ddof=1)) if n > 1 else math.nan
    t = t_quantile_975(n - 1)
    if log_scale and n > 1 and (v > 0).all():
        logs = np.log(v)
        half = t * float(logs.std(ddof=1)) / math.sqrt(n)
        low, high = math.exp(logs.mean() - half), math.exp(logs.mean() + half)
    else:
        half = t * std / math.sqrt(n) if n > 1 else math.nan
        low, high = mean - half, mean + half
    return dict(
        n=n,
        median=float(med),
        p25=float(p25),
        p75=float(p75),
        iqr=float(p75 - p25),
        rel_iqr=float((p75 - p25) / abs(med)) if med else math.nan,
        mean=mean,
        std=std,
        ci_low=low,
        ci_high=high,
    )


STATS = ("n", "median", "p25", "p75", "iqr", "rel_iqr", "mean", "std", "ci_low", "ci_high")


def summarize_groups(
    df: pd.DataFrame, metrics: tuple[str, ...] | list[str], by: str = "repeat_key"
) -> pd.DataFrame:
    """One row per group with `repeats` and `<metric>.<stat>` columns (as `describe`; timing
    metrics' CIs on the log scale)."""
    cols = [by, "repeats"] + [f"{m}.{k}" for m in metrics for k in STATS]
    if df.empty:
        return pd.DataFrame(columns=cols)
    values = df[list(metrics)].apply(pd.to_numeric, errors="coerce").astype(float)
    g = values.groupby(df[by], sort=True)
    q = g.quantile([0.25, 0.5, 0.75])
    n, mean, std = g.count(), g.mean(), g.std(ddof=1)
    from scipy.stats import t as student

    # one vectorized call, not one per group and metric: this runs over every repeat group
    t = pd.DataFrame(student.ppf(0.975, n - 1), index=n.index, columns=n.columns).where(n > 1)
    half = t * std / np.sqrt(n.where(n > 0))
    low, high = mean - half, mean + half
    logs = np.log(values.where(values > 0))
    lg = logs.groupby(df[by], sort=True)
    all_positive = lg.count() == n
    log_half = t * lg.std(ddof=1) / np.sqrt(n.where(n > 0))
    for m in metrics:
        if is_timing(m):
            use = all_positive[m]
            low[m] = np.exp(lg.mean()[m] - log_half[m]).where(use, low[m])
            high[m] = np.exp(lg.mean()[m] + log_half[m]).where(use, high[m])
    sizes = df.groupby(by, sort=True).size()
    parts: dict[str, pd.Series] = {by: sizes.index.to_series(index=sizes.index), "repeats": sizes}
    for m in metrics:
        p25, med, p75 = (q[m].xs(k, level=1) for k in (0.25, 0.5, 0.75))
        parts.update(
            {
                f"{m}.n": n[m],
                f"{m}.median": med,
                f"{m}.p25": p25,
                f"{m}.p75": p75,
                f"{m}.iqr": p75 - p25,
                f"{m}.rel_iqr": (p75 - p25) / med.abs().where(med != 0),
                f"{m}.mean": mean[m],
                f"{m}.std": std[m],
                f"{m}.ci_low": low[m],
                f"{m}.ci_high": high[m],
            }
        )
    return pd.DataFrame(parts).reset_index(drop=True)[cols]


def steps_noisy(iqr: float | None, median: float | None) -> bool:
    """A job's training steps spread over NOISY_REL_IQR of their median."""
    if iqr is None or median is None or pd.isna(iqr) or pd.isna(median) or median <= 0:
        return False
    return iqr / median > NOISY_REL_IQR


def noisy_metrics(row: pd.Series | dict, metrics: tuple[str, ...] | list[str]) -> list[str]:
    """The timing metrics of a summarized row whose spread over repeats exceeds 10% of the
    median (rel_iqr > NOISY_REL_IQR): compare them with care."""
    out = []
    for m in metrics:
        rel = row.get(f"{m}.rel_iqr")
        if is_timing(m) and rel is not None and not pd.isna(rel) and rel > NOISY_REL_IQR:
            out.append(m)
    return out
