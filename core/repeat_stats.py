"""Statistics over repeats (seeds) of one experiment: median, IQR and a 95% CI of the mean."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

# Two-sided 95% Student t quantiles t(0.975, df) for df = 1..30; beyond, the normal 1.96.
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t_quantile_975(dof: int) -> float:
    if dof < 1:
        return math.nan
    return _T975[dof - 1] if dof <= len(_T975) else 1.96


def describe(values: np.ndarray) -> dict[str, float]:
    """n, median, p25, p75, iqr, mean, std and the t-based 95% CI of the mean (NaN if n < 2)."""
    v = values[~np.isnan(values)]
    n = int(v.size)
    if n == 0:
        nan = math.nan
        return dict(
            n=0, median=nan, p25=nan, p75=nan, iqr=nan, mean=nan, std=nan, ci_low=nan, ci_high=nan
        )
    p25, med, p75 = np.percentile(v, [25, 50, 75])
    mean = float(v.mean())
    std = float(v.std(ddof=1)) if n > 1 else math.nan
    half = t_quantile_975(n - 1) * std / math.sqrt(n) if n > 1 else math.nan
    return dict(
        n=n,
        median=float(med),
        p25=float(p25),
        p75=float(p75),
        iqr=float(p75 - p25),
        mean=mean,
        std=std,
        ci_low=mean - half,
        ci_high=mean + half,
    )


STATS = ("n", "median", "p25", "p75", "iqr", "mean", "std", "ci_low", "ci_high")


def summarize_groups(
    df: pd.DataFrame, metrics: tuple[str, ...] | list[str], by: str = "repeat_key"
) -> pd.DataFrame:
    """One row per group with `repeats` and `<metric>.<stat>` columns (as `describe`)."""
    cols = [by, "repeats"] + [f"{m}.{k}" for m in metrics for k in STATS]
    if df.empty:
        return pd.DataFrame(columns=cols)
    values = df[list(metrics)].apply(pd.to_numeric, errors="coerce").astype(float)
    g = values.groupby(df[by], sort=True)
    q = g.quantile([0.25, 0.5, 0.75])
    n, mean, std = g.count(), g.mean(), g.std(ddof=1)
    t = n.apply(lambda col: col.map(lambda k: t_quantile_975(int(k) - 1)))
    half = t * std / np.sqrt(n.where(n > 0))
    sizes = df.groupby(by, sort=True).size()
    parts: dict[str, pd.Series] = {by: sizes.index.to_series(index=sizes.index), "repeats": sizes}
    for m in metrics:
        p25, p75 = q[m].xs(0.25, level=1), q[m].xs(0.75, level=1)
        parts.update(
            {
                f"{m}.n": n[m],
                f"{m}.median": q[m].xs(0.5, level=1),
                f"{m}.p25": p25,
                f"{m}.p75": p75,
                f"{m}.iqr": p75 - p25,
                f"{m}.mean": mean[m],
                f"{m}.std": std[m],
                f"{m}.ci_low": mean[m] - half[m],
                f"{m}.ci_high": mean[m] + half[m],
            }
        )
    return pd.DataFrame(parts).reset_index(drop=True)[cols]
