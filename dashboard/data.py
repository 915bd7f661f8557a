"""Cached reads for the pages, and a banner instead of a traceback when a service is down."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from core import fleet, history
from core.store import details, read, rejections
from core.store.db import redacted
from core.store.jobs import queues_with_queued_jobs
from core.store.workers import WorkerRecord, list_workers

TTL_S = 5
T = TypeVar("T")


@st.cache_resource(show_spinner=False)
def schema_ready() -> bool:
    """Migrate once per dashboard process, like a worker does at start."""
    from core.store.migrate import ensure_schema

    ensure_schema()
    return True


def guarded(fn: Callable[..., T], *args: Any, default: T, **kwargs: Any) -> T:
    """Call fn; if the database is down, show a banner and return `default`."""
    try:
        schema_ready()
        return fn(*args, **kwargs)
    except SQLAlchemyError as e:
        st.error(
            f"The results database at `{redacted()}` is unreachable: "
            f"{getattr(e, 'orig', e)}. Check BNBENCH_DATABASE_URL; this page retries.",
            icon=":material/database_off:",
        )
        return default


@st.cache_data(ttl=TTL_S, show_spinner=False)
def idle_queue_warnings() -> list[str]:
    """A line per queue holding queued jobs that no live worker consumes."""
    from worker.client import unserved_warnings

    return unserved_warnings(queues_with_queued_jobs())


@st.cache_data(ttl=TTL_S, show_spinner=False)
def jobs(
    status: tuple[str, ...] = (),
    group: str | None = None,
    label: str | None = None,
    limit: int = 200,
    archived: bool = False,
) -> pd.DataFrame:
    f = read.ResultFilter(status=status, group_id=group or None, label=label or None,
                             archived=None if archived else False)  # fmt: skip
    return pd.DataFrame.from_records(read.query_records(f, limit=limit))


@st.cache_data(ttl=TTL_S, show_spinner=False)
def jobs_where(spec: tuple[tuple[str, Any], ...], limit: int = 500) -> pd.DataFrame:
    """Succeeded jobs whose spec fields equal the given values."""
    f = read.ResultFilter(spec=dict(spec), status=("succeeded",))
    return pd.DataFrame.from_records(read.query_records(f, limit=limit))


@st.cache_data(ttl=TTL_S, show_spinner=False)
def groups(archived: bool = False) -> list[str]:
    return read.group_ids(archived=archived)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def history_series(metric: str, hold: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    return history.series(metric, hold)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def jobs_by_id(job_ids: tuple[str, ...]) -> pd.DataFrame:
    f = read.ResultFilter(job_ids=job_ids, status=("succeeded",), archived=None)
    return pd.DataFrame.from_records(read.query_records(f, limit=len(job_ids)))


@st.cache_data(ttl=TTL_S, show_spinner=False)
def fleet_speeds(group_ids: tuple[str, ...]) -> pd.DataFrame:
    return fleet.speeds(group_ids)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def curves(job_ids: tuple[str, ...]) -> pd.DataFrame:
    return details.epoch_curves(job_ids)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def job_log(job_id: str) -> pd.DataFrame:
    return details.job_log(job_id)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def inference(job_ids: tuple[str, ...]) -> pd.DataFrame:
    return details.inference_table(job_ids)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def bn_layers(job_ids: tuple[str, ...]) -> pd.DataFrame:
    return details.bn_layers(job_ids)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def layer_benchmarks() -> pd.DataFrame:
    return details.layer_benchmarks()


@st.cache_data(ttl=TTL_S, show_spinner=False)
def repeats(group: str | None, job_ids: tuple[str, ...]) -> pd.DataFrame:
    f = read.ResultFilter(group_id=group or None, job_ids=job_ids)
    return read.compare_repeats(f)


@st.cache_data(ttl=TTL_S, show_spinner=False)
def workers() -> list[WorkerRecord]:
    return list_workers()


@st.cache_data(ttl=TTL_S, show_spinner=False)
def rejected_messages(limit: int = 50) -> pd.DataFrame:
    df = pd.DataFrame([r.to_dict() for r in rejections.recent_rejections(limit)])
    return df.assign(received_at=pd.to_datetime(df["received_at"])) if len(df) else df


@st.cache_data(ttl=TTL_S, show_spinner=False)
def suite_runs(limit: int = 50) -> pd.DataFrame:
    """Suite runs, newest first: round, state and what is still undecided."""
    from core.store.suite_runs import recent_runs
    from core.suite_runs import undecided

    return pd.DataFrame(
        [
            {"group": r.id, "suite": r.suite, "profile": r.profile,
             "round": f"{r.round} of at most {r.looks}", "state": r.state,
             "undecided": ", ".join(undecided(r)) or "-", "started": r.created_at}
            for r in recent_runs(limit)
        ],
        columns=["group", "suite", "profile", "round", "state", "undecided", "started"],
    )  # fmt: skip


def clear() -> None:
    st.cache_data.clear()
