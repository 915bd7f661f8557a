"""Workers: the fleet, its GPUs and queues, heartbeat ages and current jobs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data
from worker.settings import Settings


@st.fragment(run_every=5)
def fleet() -> None:
    df = data.guarded(data.workers, default=pd.DataFrame())
    if df.empty:
        st.info(
            "No workers registered. Start them with `bnbench worker` (one per GPU) or `bnbench up`."
        )
        return
    stale = Settings.from_env().stale_after_s
    view = pd.DataFrame(
        {
            "worker": df["name"],
            "state": df["heartbeat_age_s"].map(lambda a: "live" if a <= stale else "stale"),
            "host": df["host"],
            "gpu": df["gpu_model"].fillna("cpu"),
            "queues": df["queues"].map(", ".join),
            "heartbeat (s ago)": df["heartbeat_age_s"].round(1),
            "current job": df["current_job_id"].fillna("").str[:8],
        }
    )
    st.dataframe(view, hide_index=True, width="stretch")


def render() -> None:
    st.title("Workers")
    fleet()


render()
