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


def ratio_of_medians_ci(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """95% interval of median(x) / median(y): scipy.stats.bootstrap, percentile method, 2,000
    resamples of each sample independently, seeded so that a report reads the same twice."""
    from scipy.stats import bootstrap

    boot = bootstrap(
        (x, y),
        lambda a, b, axis: np.median(a, axis=axis) / np.median(b, axis=axis),
        vectorized=True, n_resamples=2000, method="percentile", rng=np.random.default_rng(0),
    )  # fmt: skip
    return float(boot.confidence_interval.low), float(boot.confidence_interval.high)


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
    if df.empty:
        return pd.DataFrame(columns=[by, "repeats"] + [f"{m}.{k}" for m in metrics for k in STATS])
    values = df[list(metrics)].copy()
    for m in metrics:
        if values[m].dtype.kind != "f":  # a None-only, integer or mixed column
            values[m] = pd.to_numeric(values[m], errors="coerce").astype(float)
    g = values.groupby(df[by], sort=True)
    q = g.quantile([0.25, 0.5, 0.75])
    n, mean, std = g.count(), g.mean(), g.std(ddof=1)
    lg = np.log(values.where(values > 0)).groupby(df[by], sort=True)
    log_n, log_mean, log_std = lg.count(), lg.mean(), lg.std(ddof=1)
    sizes = df.groupby(by, sort=True).size()
    aggs = {
        m: {
            "n": n[m], "p25": q[m].xs(0.25, level=1), "median": q[m].xs(0.5, level=1),
            "p75": q[m].xs(0.75, level=1), "mean": mean[m], "std": std[m],
            "log_n": log_n[m], "log_mean": log_mean[m], "log_std": log_std[m],
        }
        for m in metrics
    }  # fmt: skip
    return from_aggregates(sizes.index, sizes, aggs, by)


def from_aggregates(keys, repeats, aggs: dict[str, dict], by: str = "repeat_key") -> pd.DataFrame:
    """summarize_groups' frame from per-group aggregates, computed by pandas or by a database.

    aggs[metric] holds, one value per group in the order of `keys`: n, p25, median, p75, mean,
    std (ddof 1) and, of the positive values' logarithms, log_n, log_mean and log_std. A
    timing's CI is on the log scale when all its values are positive (log_n == n)."""
    from scipy.stats import t as student

    parts: dict[str, object] = {by: list(keys), "repeats": np.asarray(repeats)}
    for m, a in aggs.items():
        n, mean, std = (np.asarray(a[k], dtype=float) for k in ("n", "mean", "std"))
        p25, med, p75 = (np.asarray(a[k], dtype=float) for k in ("p25", "median", "p75"))
        with np.errstate(invalid="ignore", divide="ignore"):
            # one vectorized call, not one per group and metric: this runs over every group
            t = np.where(n > 1, student.ppf(0.975, np.maximum(n - 1, 1)), np.nan)
            root_n = np.sqrt(np.where(n > 0, n, np.nan))
            low, high = mean - t * std / root_n, mean + t * std / root_n
            if is_timing(m):
                log_mean = np.asarray(a["log_mean"], dtype=float)
                log_half = t * np.asarray(a["log_std"], dtype=float) / root_n
                use = np.asarray(a["log_n"], dtype=float) == n
                low = np.where(use, np.exp(log_mean - log_half), low)
                high = np.where(use, np.exp(log_mean + log_half), high)
            rel = (p75 - p25) / np.where(med != 0, np.abs(med), np.nan)
        parts.update({
            f"{m}.n": np.asarray(a["n"]), f"{m}.median": med, f"{m}.p25": p25, f"{m}.p75": p75,
            f"{m}.iqr": p75 - p25, f"{m}.rel_iqr": rel, f"{m}.mean": mean, f"{m}.std": std,
            f"{m}.ci_low": low, f"{m}.ci_high": high,
        })  # fmt: skip
    return pd.DataFrame(parts)


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
