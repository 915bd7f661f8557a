"""Workers: the fleet, its GPUs and queues, heartbeat ages and current jobs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.store.tables import utcnow
from core.store.workers import WorkerRecord
from dashboard import data
from worker.settings import Settings


@st.fragment(run_every=5)
def fleet() -> None:
    workers: list[WorkerRecord] = data.guarded(data.workers, default=[])
    if not workers:
        st.info(
            "No workers registered. Start them with `bnbench worker` (one per GPU) or `bnbench up`."
        )
        return
    stale, now = Settings.from_env().stale_after_s, utcnow()
    view = pd.DataFrame(
        [
            {
                "worker": w.name,
                "state": "live" if w.is_live(stale, now) else "stale",
                "host": w.host,
                "gpu": w.gpu_model or "cpu",
                "queues": ", ".join(w.queues),
                "heartbeat (s ago)": round(w.heartbeat_age_s(now), 1),
                "current job": (w.current_job_id or "")[:8],
            }
            for w in workers
        ]
    )
    st.dataframe(view, hide_index=True, width="stretch")


@st.fragment(run_every=10)
def refused() -> None:
    df = data.guarded(data.rejected_messages, default=pd.DataFrame())
    st.subheader("Refused messages")
    if df.empty:
        st.caption("No task message has been refused.")
        return
    st.caption(
        "Messages a worker could not read as a job of their own: refused, not requeued, and "
        "kept here (the newest 50; all of them in the rejected_messages table)."
    )
    view = pd.DataFrame(
        {
            "received": df["received_at"],
            "queue": df["queue"],
            "worker": df["worker"],
            "reason": df["reason"],
            "task id": df["task_id"],
            "job named": df["job_id"].fillna("").str[:8],
            "body (first 4 KB)": df["body"].str[:200],
        }
    )
    st.dataframe(view, hide_index=True, width="stretch")


def render() -> None:
    st.title("Workers")
    fleet()
    refused()


render()
