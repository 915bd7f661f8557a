"""Reading results: plain records and DataFrames with the spec flattened into `spec.*` columns.

Filters on spec fields run in SQL: on the indexed spec_* columns of jobs where the field has
one (dbmodels.INDEXED_SPEC_FIELDS), else through the JSON column, typed by the BenchSpec
field, so the same query works on SQLite (json_extract) and PostgreSQL (->>).
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import FrozenInstanceError, dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from core.repeat_stats import summarize_groups
from core.spec.parse import closest_field
from core.spec.schema import BenchSpec
from core.store.db import session_scope
from core.store.repeat_stats_sql import numeric, summarizable, summarize_in_sql
from core.store.tables import (
    COMPARE_METRICS,
    INDEXED_SPEC_FIELDS,
    Environment,
    Job,
    JobStatus,
    JobTag,
    Result,
)

JOB_COLUMNS = (
    "id", "status", "kind", "queue", "group_id", "label", "spec_hash", "repeat_key",
    "created_at", "started_at", "finished_at", "worker", "attempt", "progress", "progress_epoch",
    "error_type", "error_message", "note", "archived_at",
)  # fmt: skip
# Every figure the results table holds, in its order; not the keys and the full JSON record.
RESULT_COLUMNS = tuple(
    c.name
    for c in Result.__table__.columns
    if c.name not in ("id", "job_id", "environment_id", "created_at", "result_json")
)
ENV_COLUMNS = ("gpu_name", "device", "torch", "cuda", "hostname", "git_sha", "threads")
# The figures a comparison can summarize: numbers and flags, not names, hashes or lists.
NUMERIC_RESULT_COLUMNS = tuple(
    c.name
    for c in Result.__table__.columns
    if c.name in RESULT_COLUMNS and c.type.python_type in (int, float, bool)
)

# The metrics a grouped comparison summarizes by default.
DEFAULT_METRICS = COMPARE_METRICS  # what ix_results_compare covers


@dataclass(frozen=True)
class ResultFilter:
    """What to select. spec maps a spec field to a value or a list of accepted values."""

    spec: dict[str, Any] = field(default_factory=dict)
    status: tuple[str, ...] = ()
    group_id: str | None = None
    label: str | None = None
    gpu: str | None = None  # substring of the GPU name; "cpu" selects CPU results
    since: datetime | None = None
    until: datetime | None = None
    job_ids: tuple[str, ...] = ()
    with_results_only: bool = False
    tags: tuple[str, ...] = ()  # jobs carrying every one of these tags
    archived: bool | None = False  # False: hide archived jobs (unless named by id); None: all


class JobRecord(Mapping[str, Any]):
    """One job as query_records reads it, read-only: a mapping of its job, result and
    environment columns, its tags and its spec flattened to `spec.<field>` keys (the shape
    of a table row, for DataFrames, CSV and JSON through as_dict), with attributes for the
    fields callers branch on."""

    __slots__ = ("_values",)
    _values: MappingProxyType[str, Any]

    def __init__(self, values: dict[str, Any]) -> None:
        object.__setattr__(self, "_values", MappingProxyType(dict(values)))

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"a JobRecord is read-only; cannot set {name}")

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"JobRecord({self.job_id[:8]}, {self.status})"

    @property
    def job_id(self) -> str:
        return str(self._values["job_id"])

    @property
    def status(self) -> JobStatus:
        return JobStatus(self._values["status"])

    @property
    def spec_fields(self) -> dict[str, Any]:
        """The spec fields read (spec=True), by their names."""
        return {k[5:]: v for k, v in self._values.items() if k.startswith("spec.")}

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)


def _json_field(name: str) -> ColumnElement[Any]:
    if name not in BenchSpec.model_fields:
        guess = closest_field(name)
        hint = f"; did you mean {guess}?" if guess else ""
        raise ValueError(f"{name}: not a spec field{hint}")
    if name in INDEXED_SPEC_FIELDS:
        column: ColumnElement[Any] = getattr(Job, f"spec_{name}")
        return column
    ann = BenchSpec.model_fields[name].annotation
    args = set(typing.get_args(ann)) - {type(None)}
    base = next(iter(args)) if len(args) == 1 else ann
    expr: Any = Job.spec_json[name]  # a JSON element: typed Any by SQLAlchemy
    typed: ColumnElement[Any]
    if base is bool:
        typed = expr.as_boolean()
    elif base is int:
        typed = expr.as_integer()
    elif base is float:
        typed = expr.as_float()
    else:
        typed = expr.as_string()
    return typed


def _check_value(name: str, kind: type, value: Any) -> None:
    """A number or bool field only compares to a number or bool: PostgreSQL refuses to
    compare one to text, so say so the same way on every backend."""
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind in (int, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        return
    if not ok:
        raise ValueError(f"{name}: expected {kind.__name__}, got {value!r}")


def _spec_clause(name: str, value: Any) -> ColumnElement[bool]:
    col = _json_field(name)
    values = value if isinstance(value, list | tuple | set) else [value]
    for v in values:
        if v is not None:
            _check_value(name, col.type.python_type, v)
    parts = [col.is_(None) if v is None else col == v for v in values]
    return or_(*parts)


def apply_filter(stmt: Select[Any], f: ResultFilter) -> Select[Any]:
    clauses = [_spec_clause(k, v) for k, v in f.spec.items()]
    if f.status:
        clauses.append(Job.status.in_(f.status))
    if f.group_id:
        clauses.append(Job.group_id == f.group_id)
    if f.label:
        clauses.append(Job.label == f.label)
    if f.since:
        clauses.append(Job.created_at >= f.since)
    if f.until:
        clauses.append(Job.created_at < f.until)
    if f.job_ids:
        clauses.append(Job.id.in_(f.job_ids))
    if f.gpu:
        if f.gpu.lower() == "cpu":
            clauses.append(Environment.gpu_name.is_(None) & Environment.id.is_not(None))
        else:
            # autoescape: '%' and '_' are characters of the name, not LIKE wildcards
            clauses.append(Environment.gpu_name.icontains(f.gpu, autoescape=True))
    if f.with_results_only:
        clauses.append(Result.id.is_not(None))
    for tag in f.tags:
        t = aliased(JobTag)  # apart from a JobTag the outer query may join
        clauses.append(select(t.job_id).where(t.job_id == Job.id, t.tag == tag).exists())
    if f.archived is not None and not f.job_ids:
        clauses.append(Job.archived_at.is_not(None) if f.archived else Job.archived_at.is_(None))
    return stmt.where(and_(*clauses)) if clauses else stmt


def _select(columns: list[Any], environment: bool = True) -> Select[Any]:
    stmt = select(*columns).select_from(Job).outerjoin(Result, Result.job_id == Job.id)
    if environment:
        stmt = stmt.outerjoin(Environment, Environment.id == Result.environment_id)
    return stmt


def query_records(
    f: ResultFilter | None = None,
    limit: int | None = None,
    offset: int = 0,
    spec: bool = True,
    url: str | None = None,
    session: Session | None = None,
) -> list[JobRecord]:
    """One record per job, newest first: job, result and environment columns, spec.*."""
    f = f or ResultFilter()
    cols = [getattr(Job, c) for c in JOB_COLUMNS]
    cols += [getattr(Result, c) for c in RESULT_COLUMNS]
    cols += [getattr(Environment, c) for c in ENV_COLUMNS]
    if spec:
        cols.append(Job.spec_json)
    stmt = apply_filter(_select(cols), f).order_by(Job.created_at.desc(), Job.id)
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
    names = [*JOB_COLUMNS, *RESULT_COLUMNS, *ENV_COLUMNS]
    with _session(url, session) as s:
        rows = s.execute(stmt).all()
        tags: dict[str, list[str]] = {}
        if rows:
            tagged = apply_filter(
                _select([Job.id, JobTag.tag]).join(JobTag, JobTag.job_id == Job.id), f
            )
            for job_id, tag in s.execute(tagged.order_by(JobTag.tag)):
                tags.setdefault(job_id, []).append(tag)
    out = []
    for row in rows:
        rec = {("job_id" if n == "id" else n): v for n, v in zip(names, row, strict=False)}
        rec["tags"] = ", ".join(tags.get(rec["job_id"], []))
        if spec:
            rec.update({f"spec.{k}": _cell(v) for k, v in row[-1].items()})
        out.append(JobRecord(rec))
    return out


def _cell(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def results_frame(
    f: ResultFilter | None = None, limit: int | None = None, url: str | None = None
) -> pd.DataFrame:
    """query_records as a DataFrame."""
    return pd.DataFrame.from_records(query_records(f, limit=limit, url=url))


def compare_repeats(
    f: ResultFilter | None = None,
    metrics: tuple[str, ...] = DEFAULT_METRICS,
    url: str | None = None,
) -> pd.DataFrame:
    """One row per repeat group (same spec but seed): n, median, IQR and 95% CI per metric.

    Only the needed columns are read, so this stays fast on large tables.
    """
    unknown = [m for m in metrics if m not in NUMERIC_RESULT_COLUMNS]
    if unknown:
        raise ValueError(
            f"unknown metric {unknown[0]}; choose from {', '.join(NUMERIC_RESULT_COLUMNS)}"
        )
    f = f or ResultFilter()
    cols = [Job.repeat_key, Job.id, *(getattr(Result, m) for m in metrics)]

    with session_scope(url, readonly=True) as s:
        if summarizable(s.get_bind().dialect.name, metrics):
            keyed = keyed_select(s, f)
            if keyed is not None:
                out, first_ids = summarize_in_sql(
                    s, keyed, metrics, (Result.repeat_key, Result.job_id)
                )
            else:
                out, first_ids = summarize_in_sql(s, lambda c: compare_select(f, c), metrics)
        else:
            result = s.connection().execute(compare_select(f, cols))
            # Numbers and strings need no conversion: the driver's own tuples, without
            # building a Row for each of tens of thousands of results.
            rows = result.cursor.fetchall() if numeric(metrics) else result.all()
            df = pd.DataFrame.from_records(rows, columns=["repeat_key", "job_id", *metrics])
            out = summarize_groups(df, metrics)
            first_ids = df.groupby("repeat_key")["job_id"].min().tolist() if len(df) else []
        if out.empty:
            return out
        # One representative job per group, fetched by primary key.
        firsts = s.execute(select(Job.repeat_key, Job.spec_json).where(Job.id.in_(first_ids)))
        specs: dict[str, dict[str, Any]] = {key: spec for key, spec in firsts}
    spec_df = pd.DataFrame.from_records(
        [
            {"repeat_key": k, **{f"spec.{n}": _cell(v) for n, v in specs[k].items() if n != "seed"}}
            for k in out["repeat_key"]
        ]
    )
    return out.merge(spec_df, on="repeat_key", how="left")


def compare_select(f: ResultFilter, columns: list[Any]) -> Select[Any]:
    """The read behind compare_repeats: succeeded jobs with a result, filtered by `f`. It joins
    the environment only when filtered on it, so that indexes alone can answer it."""
    f = ResultFilter(**{**f.__dict__, "status": ("succeeded",), "with_results_only": True})
    return apply_filter(_select(columns, environment=bool(f.gpu)), f)


KEYLESS_FIELDS = ("seed", "data_root")  # the spec fields a repeat key leaves out
MAX_KEYS = 10_000  # bound parameters of one IN list; more keys take the join


def keyed_select(s: Session, f: ResultFilter) -> Callable[[list[Any]], Select[Any]] | None:
    """compare_select's rows read from results alone, by repeat key, where `f` filters on
    nothing but spec fields that the repeat key fixes (every field but the seed): the keys of
    the matching jobs first, then those keys' results, less the few of archived or unfinished
    jobs. On PostgreSQL this reads one covering index in key order, without a join or a sort
    (ix_results_repeat_key_compare). None for any other filter."""
    plain = ResultFilter(
        status=f.status, archived=f.archived, with_results_only=f.with_results_only
    )
    if f.status not in ((), (JobStatus.SUCCEEDED,)) or f.archived is True:
        return None
    if replace(f, spec={}) != plain or any(k in KEYLESS_FIELDS for k in f.spec):
        return None
    where: list[ColumnElement[bool]] = []
    if f.spec:
        matching = apply_filter(
            select(Job.repeat_key).distinct(), ResultFilter(spec=f.spec, archived=None)
        )
        keys = s.scalars(matching.limit(MAX_KEYS + 1)).all()
        if len(keys) > MAX_KEYS:
            return None
        where.append(Result.repeat_key.in_(keys))
    hidden = Job.status != JobStatus.SUCCEEDED
    if f.archived is False:
        hidden = or_(Job.archived_at.is_not(None), hidden)
    where.append(~select(Job.id).where(Job.id == Result.job_id, hidden).exists())
    return lambda columns: select(*columns).select_from(Result).where(*where)


@contextmanager
def _session(url: str | None, session: Session | None) -> Iterator[Session]:
    """The caller's session, or a read-only one of our own."""
    if session is not None:
        yield session
        return
    with session_scope(url, readonly=True) as s:
        yield s


class JobNotFound(LookupError):
    pass


def resolve_job_id(prefix: str, url: str | None = None) -> str:
    """The full id of the one job whose id starts with `prefix` (at least 4 characters)."""
    prefix = prefix.strip().lower()
    if len(prefix) < 4:
        raise JobNotFound(f"job id {prefix!r} is too short; give at least 4 characters")
    with session_scope(url, readonly=True) as s:
        # autoescape: a '%' or '_' in the prefix is a character, not a LIKE wildcard
        starts = Job.id.startswith(prefix, autoescape=True)
        ids = s.scalars(select(Job.id).where(starts).limit(2)).all()
    if not ids:
        raise JobNotFound(f"no job id starts with {prefix!r}; list them with `bnbench results`")
    if len(ids) > 1:
        raise JobNotFound(f"{prefix!r} matches several jobs; give more characters")
    return ids[0]


def job_record(job_id: str, url: str | None = None) -> JobRecord:
    """Everything about one job: query_records' record, and under `spec` and `result` the
    spec and result JSON as stored."""
    [rec] = query_records(ResultFilter(job_ids=(job_id,)), url=url)
    with session_scope(url, readonly=True) as s:
        spec = s.scalar(select(Job.spec_json).where(Job.id == job_id))
        result = s.scalar(select(Result.result_json).where(Result.job_id == job_id))
    return JobRecord({**rec, "spec": spec, "result": result})


def group_ids(url: str | None = None, archived: bool = False) -> list[str]:
    """Every group id with a job not archived (with `archived`, every group), most recently
    used first."""
    shown = Job.group_id.is_not(None) if archived else Job.archived_at.is_(None)
    with session_scope(url, readonly=True) as s:
        rows = s.execute(
            select(Job.group_id, func.max(Job.created_at).label("last"))
            .where(Job.group_id.is_not(None), shown)
            .group_by(Job.group_id)
            .order_by(func.max(Job.created_at).desc())
        ).all()
    return [g for g, _ in rows if g is not None]


def varying_spec_columns(df: pd.DataFrame, include_seed: bool = False) -> list[str]:
    """The spec.* columns whose value is not the same in every row."""
    cols = [c for c in df.columns if c.startswith("spec.")]
    if not include_seed:
        cols = [c for c in cols if c != "spec.seed"]
    return [c for c in cols if df[c].astype(str).nunique() > 1]


def _sort_key(values: pd.Series) -> pd.Series:
    """Numbers by value, everything else as text; missing values last."""
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().sum() == values.notna().sum():
        return numbers
    return values.astype(str)


def by_varying_fields(df: pd.DataFrame, include_seed: bool = False) -> pd.DataFrame:
    """Rows sorted by the spec fields that vary between them, first varying field first, so
    a sweep reads in the order of its values and its first value is the baseline."""
    cols = varying_spec_columns(df, include_seed)
    if not cols or df.empty:
        return df
    return df.sort_values(cols, key=_sort_key, kind="stable", na_position="last")


def run_labels(df: pd.DataFrame, id_column: str = "job_id") -> pd.Series:
    """A label per row naming what sets it apart: `dropout_p=0.3 norm=none`, then the job's
    label where labels differ. Seeds are named only when they vary; where nothing varies, or
    labels would collide, the id's first 8 characters lead."""
    cols = varying_spec_columns(df)
    seeds = "spec.seed" in df and df["spec.seed"].astype(str).nunique() > 1
    parts = [*cols, *(["spec.seed"] if seeds else [])]
    given = df["label"].fillna("").astype(str) if "label" in df else pd.Series("", index=df.index)
    ids = df[id_column].astype(str).str[:8] if id_column in df else None

    def label(row: pd.Series) -> str:
        return " ".join(f"{c[5:]}={_short(row[c])}" for c in parts)

    labels = df.apply(label, axis=1).astype(str) if parts else pd.Series("", index=df.index)
    if not parts or given.nunique() > 1:
        labels = (labels + " " + given).str.strip()
    if ids is not None:
        lead = labels.duplicated(keep=False) | (labels == "") | (not parts)
        labels = labels.where(~lead, (ids + " " + labels).str.strip())
    return labels.astype(str)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
