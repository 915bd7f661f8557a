"""In-row checks of inference figures, so an outlier does not pass silently.

A point is suspect when its timed rounds spread over 10% of their median (the level at which
torch.utils.benchmark warns), or when its samples/s implies a call slower than 95% of the
calls timed one by one beside it, by more than the same 10%: throughput and latency of the
same row then contradict each other, which a burst of load during one round does. A fold
speedup is as trustworthy as the two points it divides.
"""

from __future__ import annotations

import pandas as pd

from core.repeat_stats import NOISY_REL_IQR, steps_noisy

NOISY = "noisy: the rounds' IQR is over 10% of their median"
CONTRADICTS = "samples/s implies a call over 10% slower than the p95 latency"


def point_checks(round_median_ms: float, round_iqr_ms: float, latency_p95_ms: float) -> list[str]:
    """What is wrong with one inference point; empty when nothing is."""
    out = []
    if steps_noisy(round_iqr_ms, round_median_ms):
        out.append(NOISY)
    if round_median_ms > latency_p95_ms * (1 + NOISY_REL_IQR):
        out.append(CONTRADICTS)
    return out


def checked(df: pd.DataFrame) -> pd.DataFrame:
    """inference_metrics rows with `fold_speedup` (on folded rows: folded over unfolded
    samples/s of the same job and batch size) and `check` ("ok", or what is wrong; a fold
    speedup inherits its unfolded point's problems)."""
    if df.empty:
        return df.assign(fold_speedup=pd.Series(dtype=float), check=pd.Series(dtype=str))
    problems = [
        point_checks(r.round_ms_median, r.round_ms_iqr, r.latency_p95_ms) for r in df.itertuples()
    ]
    df = df.assign(_problems=problems)
    keys = ["job_id", "batch_size"]
    unfolded = df.loc[~df["folded"].astype(bool), [*keys, "samples_per_s", "_problems"]]
    unfolded = unfolded.rename(columns={"samples_per_s": "_base", "_problems": "_base_problems"})
    df = df.merge(unfolded, on=keys, how="left")
    folded = df["folded"].astype(bool)
    df["fold_speedup"] = (df["samples_per_s"] / df["_base"]).where(folded)
    inherited = [
        p + [f"unfolded: {q}" for q in b] if f and isinstance(b, list) else p
        for p, b, f in zip(df["_problems"], df["_base_problems"], folded, strict=True)
    ]
    df["check"] = ["; ".join(p) or "ok" for p in inherited]
    return df.drop(columns=["_problems", "_base", "_base_problems"])
