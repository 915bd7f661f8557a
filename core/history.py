"""Results over time: series, result sets, and whether the newest set regressed.

A series is one spec (its repeat key: every field but the seed) on one environment
fingerprint, or on a relaxed one: the parts not held may change along the series, so a torch
upgrade or fewer threads shows as a step in it. Its results fall into sets: the results of
one group (a sweep, a suite run, a `--repeats` submission) on one fingerprint, or a run of
consecutive ungrouped results on one fingerprint. The newest set is the contender; the
baseline is the set pinned for the spec (`bnbench baseline set`), or else the set before it.

A contender regressed when its repeat-level values differ from the baseline's by a two-sided
Mann-Whitney U test (scipy.stats.mannwhitneyu) at `alpha`, and its median is worse than the
baseline's by at least `threshold`. The interval of the ratio of medians comes from
scipy.stats.bootstrap. docs/history.md says why these rules and these defaults.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sqlalchemy import select

from core.history_defaults import ALPHA, METRICS, MIN_REPEATS, THRESHOLD
from core.repeat_stats import NOISY_REL_IQR, describe, ratio_of_medians_ci
from core.store.db import session_scope
from core.store.fingerprints import HARDWARE, PARTS, fingerprint
from core.store.tables import Baseline, Environment, Job, JobStatus, Result


@dataclass(frozen=True)
class ResultSet:
    """Results of one spec run together on one fingerprint."""

    key: str  # "group:<id>@<fingerprint>" or "run:<first job id>"
    group_id: str | None
    fingerprint: str
    parts: dict[str, Any]
    job_ids: tuple[str, ...]
    values: tuple[float, ...]
    first_at: datetime
    last_at: datetime

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def median(self) -> float:
        return float(np.median(self.values))

    @property
    def rel_iqr(self) -> float:
        return describe(np.asarray(self.values))["rel_iqr"]

    @property
    def noisy(self) -> bool:
        return self.n >= 2 and self.rel_iqr > NOISY_REL_IQR

    def label(self) -> str:
        where = f"group {self.group_id}" if self.group_id else f"{self.n} runs"
        return f"{where} ({self.first_at:%Y-%m-%d %H:%M})"


@dataclass(frozen=True)
class Verdict:
    """The newest set of one series against its baseline."""

    series: str
    repeat_key: str
    spec: dict[str, Any]
    metric: str
    baseline: ResultSet
    contender: ResultSet
    pinned: bool
    status: str  # regression | improvement | unchanged | too few repeats
    ratio: float  # contender median / baseline median
    ci: tuple[float, float] | None
    p_value: float | None
    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # part: (before, after)

    @property
    def noisy(self) -> bool:
        return self.baseline.noisy or self.contender.noisy

    @property
    def what_changed(self) -> str:
        """The fingerprint parts that moved between the sets: "threads 1→8, torch ..."."""
        return ", ".join(f"{k} {a}→{b}" for k, (a, b) in self.changed.items())

    @property
    def change(self) -> float:
        """Relative change of the median, signed so that negative is worse."""
        return relative_change(self.ratio, self.metric)


def relative_change(ratio: float, metric: str) -> float:
    """A ratio of medians (newer / older) as a change signed so that negative is worse."""
    return (ratio - 1.0) if METRICS.get(metric, True) else (1.0 - ratio)


def spec_label(spec: dict[str, Any]) -> str:
    """A few words for a spec: family, norm, dropout, batch size, precision, device."""
    bits = [spec.get("family"), spec.get("norm")]
    if spec.get("dropout_p"):
        bits.append(f"p={spec['dropout_p']}")
    bits += [f"bs={spec.get('batch_size')}", spec.get("precision"), spec.get("device")]
    return " ".join(str(b) for b in bits if b is not None)


_NO_RUN = object()


def series_key(repeat_key: str, parts: dict[str, Any], hold: Sequence[str]) -> str:
    """The series a result belongs to: its spec and the fingerprint parts held fixed."""
    return f"{repeat_key}:{fingerprint(parts, relax=[p for p in PARTS if p not in hold])}"


def load(
    metric: str = "train_samples_per_s",
    spec_hash: str | None = None,
    url: str | None = None,
) -> pd.DataFrame:
    """Every succeeded, unarchived result with `metric`, oldest first, with the spec, the
    group, the fingerprint and its parts."""
    if metric not in METRICS:
        raise ValueError(f"metric {metric!r}: choose one of {', '.join(METRICS)}")
    value = getattr(Result, metric)
    env = [getattr(Environment, p) for p in PARTS if p != "deterministic"]
    stmt = (
        select(
            Job.id,
            Job.repeat_key,
            Job.spec_hash,
            Job.group_id,
            Result.created_at,
            Result.fingerprint,
            value,
            *env,
        )
        .join(Result, Result.job_id == Job.id)
        .join(Environment, Environment.id == Result.environment_id)
        .where(Job.status == JobStatus.SUCCEEDED, Job.archived_at.is_(None), value.is_not(None))
        .order_by(Result.created_at, Job.id)
    )
    if spec_hash:
        stmt = stmt.where(
            Job.spec_hash.startswith(spec_hash) | Job.repeat_key.startswith(spec_hash)
        )
    names = ["job_id", "repeat_key", "spec_hash", "group_id", "created_at", "fingerprint",
             "value", *(p for p in PARTS if p != "deterministic")]  # fmt: skip
    with session_scope(url, readonly=True) as s:
        df = pd.DataFrame.from_records(s.execute(stmt).all(), columns=names)
        # one spec per repeat key (its newest job's): the seed is all that differs among them
        last = df.groupby("repeat_key")["job_id"].last().tolist() if len(df) else []
        rows = s.execute(select(Job.repeat_key, Job.spec_json).where(Job.id.in_(last))).all()
    specs: dict[str, dict[str, Any]] = {key: spec for key, spec in rows}
    df["spec"] = df["repeat_key"].map(specs)
    # deterministic is a spec field, so one value per repeat key
    df["deterministic"] = df["spec"].map(lambda sp: bool(sp.get("deterministic")))
    return df


def result_sets(results: pd.DataFrame | list[dict[str, Any]]) -> list[ResultSet]:
    """The sets of one series' results (oldest first), in the order they began."""
    rows = results.to_dict("records") if isinstance(results, pd.DataFrame) else results
    members: dict[str, list[dict[str, Any]]] = {}
    run: str | None = None
    last: object = _NO_RUN
    for r in rows:
        group = r["group_id"] if isinstance(r["group_id"], str) and r["group_id"] else None
        if group:
            key, last = f"group:{group}@{r['fingerprint']}", _NO_RUN  # a group ends a run
        else:
            if last != r["fingerprint"] or run is None:
                run = f"run:{r['job_id']}"
            key, last = run, r["fingerprint"]
        members.setdefault(key, []).append(r)
    sets = [
        ResultSet(
            key=key,
            group_id=rs[0]["group_id"] if isinstance(rs[0]["group_id"], str) else None,
            fingerprint=str(rs[0]["fingerprint"]),
            parts={p: _plain(rs[0][p]) for p in PARTS},
            job_ids=tuple(r["job_id"] for r in rs),
            values=tuple(float(r["value"]) for r in rs),
            first_at=min(r["created_at"] for r in rs),
            last_at=max(r["created_at"] for r in rs),
        )
        for key, rs in members.items()
    ]
    return sorted(sets, key=lambda s: s.first_at)


def compare(
    baseline: ResultSet,
    contender: ResultSet,
    metric: str,
    threshold: float = THRESHOLD,
    alpha: float = ALPHA,
) -> tuple[str, float, tuple[float, float] | None, float | None]:
    """(status, ratio of medians, its 95% bootstrap interval, Mann-Whitney p)."""
    ratio = contender.median / baseline.median if baseline.median else float("nan")
    if min(baseline.n, contender.n) < MIN_REPEATS:
        return "too few repeats", ratio, None, None
    c, b = np.asarray(contender.values), np.asarray(baseline.values)
    p = float(stats.mannwhitneyu(c, b, alternative="two-sided").pvalue)
    ci = ratio_of_medians_ci(c, b)
    change = relative_change(ratio, metric)
    if p < alpha and change <= -threshold:
        return "regression", ratio, ci, p
    if p < alpha and change >= threshold:
        return "improvement", ratio, ci, p
    return "unchanged", ratio, ci, p


def pinned_baselines(url: str | None = None) -> dict[str, str]:
    """repeat key -> the set_ref pinned for it."""
    with session_scope(url, readonly=True) as s:
        return {k: ref for k, ref in s.execute(select(Baseline.repeat_key, Baseline.set_ref))}


Records = list[dict[str, Any]]


def _series_records(
    metric: str, hold: Sequence[str], spec_hash: str | None, url: str | None
) -> tuple[pd.DataFrame, dict[str, Records]]:
    """The loaded results with a `series` column, and each series' records, oldest first."""
    unknown = [p for p in hold if p not in PARTS]
    if unknown:
        raise ValueError(f"fingerprint part {unknown[0]!r}: choose from {', '.join(PARTS)}")
    df = load(metric, spec_hash, url)
    if df.empty:
        return df, {}
    held = [p for p in PARTS if p in hold]
    keys: dict[tuple[Any, ...], str] = {}  # one hash per distinct spec and held parts
    by_series: dict[str, Records] = {}
    column = []
    for r in df.to_dict("records"):  # once: pandas row access costs more than the rest
        k = (r["repeat_key"], *(_plain(r[p]) for p in held))
        if k not in keys:
            keys[k] = series_key(k[0], dict(zip(held, k[1:], strict=True)), hold)
        column.append(keys[k])
        by_series.setdefault(keys[k], []).append(r)
    df["series"] = column
    return df, by_series


def series(
    metric: str = "train_samples_per_s",
    hold: Sequence[str] = HARDWARE,
    spec_hash: str | None = None,
    url: str | None = None,
) -> dict[str, pd.DataFrame]:
    """Each series' results, oldest first, by series key."""
    df, _ = _series_records(metric, hold, spec_hash, url)
    return {} if df.empty else {str(k): g for k, g in df.groupby("series", sort=False)}


def judge(
    key: str,
    rows: Records,
    baseline: ResultSet,
    contender: ResultSet,
    metric: str,
    pinned: bool = False,
    threshold: float = THRESHOLD,
    alpha: float = ALPHA,
) -> Verdict:
    status, ratio, ci, p = compare(baseline, contender, metric, threshold, alpha)
    return Verdict(
        series=key,
        repeat_key=str(rows[0]["repeat_key"]),
        spec=rows[-1]["spec"],
        metric=metric,
        baseline=baseline,
        contender=contender,
        pinned=pinned,
        status=status,
        ratio=ratio,
        ci=ci,
        p_value=p,
        changed=_changed(baseline.parts, contender.parts),
    )


def steps(
    key: str,
    g: pd.DataFrame | Records,
    metric: str = "train_samples_per_s",
    threshold: float = THRESHOLD,
    alpha: float = ALPHA,
) -> list[Verdict]:
    """Each set of one series against the set before it: where the series changed."""
    rows = g.to_dict("records") if isinstance(g, pd.DataFrame) else g
    pairs = itertools.pairwise(result_sets(rows))
    return [judge(key, rows, a, b, metric, False, threshold, alpha) for a, b in pairs]


def verdicts(
    metric: str = "train_samples_per_s",
    hold: Sequence[str] = HARDWARE,
    since: datetime | None = None,
    spec_hash: str | None = None,
    threshold: float = THRESHOLD,
    alpha: float = ALPHA,
    url: str | None = None,
) -> list[Verdict]:
    """One verdict per series whose newest set has a baseline to compare with (and, with
    `since`, ended at or after it), worst change first."""
    pins = pinned_baselines(url)
    out = []
    for key, rows in _series_records(metric, hold, spec_hash, url)[1].items():
        sets = result_sets(rows)
        if len(sets) < 2 or (since is not None and sets[-1].last_at < since):
            continue
        pinned = _find(sets[:-1], pins.get(str(rows[0]["repeat_key"])))
        baseline = pinned or sets[-2]
        out.append(
            judge(key, rows, baseline, sets[-1], metric, pinned is not None, threshold, alpha)
        )
    return sorted(out, key=lambda v: v.change if np.isfinite(v.change) else 0.0)


def compare_link(v: Verdict, base_url: str) -> str:
    """The dashboard's Compare page on the two sets' jobs (a URL with the query in it)."""
    ids = ",".join([*v.baseline.job_ids, *v.contender.job_ids])
    return f"{base_url.rstrip('/')}/compare?jobs={ids}"


def _find(sets: Iterable[ResultSet], ref: str | None) -> ResultSet | None:
    if not ref:
        return None
    return next((s for s in sets if s.group_id == ref or ref in s.job_ids), None)


def _changed(before: dict[str, Any], after: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {p: (before[p], after[p]) for p in PARTS if before[p] != after[p]}


def _plain(v: Any) -> Any:
    """numpy scalars and NaN from pandas as the plain values the fingerprint hashed."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    return v.item() if isinstance(v, np.generic) else v
