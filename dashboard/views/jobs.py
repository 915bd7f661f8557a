"""Jobs: the live queue, filters, cancel and retry, and one job's whole story."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from core.dbmodels import JOB_STATUSES
from dashboard import charts, data
from dashboard.safe_text import plain_text

REFRESH_S = 2


def _duration(row) -> float | None:
    start, end = row.get("started_at"), row.get("finished_at")
    if start is None or pd.isna(start):
        return None
    end = datetime.now(UTC) if end is None or pd.isna(end) else end
    return (end - start).total_seconds()


def table(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "job": df["job_id"].str[:8],
            "status": df["status"],
            "progress": df["progress"].fillna(0.0).where(df["status"] != "succeeded", 1.0),
            "worker": df["worker"],
            "queue": df["queue"],
            "duration (s)": df.apply(_duration, axis=1),
            "label": df["label"],
            "group": df["group_id"],
            "error": df["error_message"],
        }
    )
    return out


@st.fragment(run_every=REFRESH_S)
def live_table(status, group, label) -> None:
    df = data.guarded(data.jobs, tuple(status), group, label, default=pd.DataFrame())
    for line in data.guarded(data.idle_queue_warnings, default=[]):
        st.warning(plain_text(line), icon=":material/hourglass_empty:")
    if df.empty:
        st.info(
            "No jobs yet. Submit one on the [Submit](/submit) page, or run "
            "`bnbench submit --preset smoke`."
        )
        return
    st.dataframe(
        table(df),
        hide_index=True,
        width="stretch",
        column_config={
            "progress": st.column_config.ProgressColumn(
                "progress", min_value=0.0, max_value=1.0, format="percent"
            )
        },
    )


def _act(action: str, job_id: str) -> None:
    from core.lifecycle import not_retryable
    from worker.submit import cancel, retry

    if action == "cancel":
        st.session_state["job_action"] = f"{job_id[:8]}: {cancel(job_id)}"
    elif retry(job_id):
        st.session_state["job_action"] = f"{job_id[:8]}: queued again"
    else:
        st.session_state["job_action"] = not_retryable(job_id) or f"{job_id[:8]}: not retried"
    data.clear()


def detail(job_id: str) -> None:
    rec = data.guarded(data.job_detail, job_id, default=None)
    if rec is None:
        return
    st.subheader(f"Job {job_id}")
    c1, c2, c3 = st.columns(3)
    c1.metric("status", rec["status"])
    c2.metric("attempt", rec["attempt"])
    c3.metric("worker", rec["worker"] or "-")
    if rec.get("error_message"):
        st.error(plain_text(f"{rec['error_type']}: {rec['error_message']}"))
    left, right = st.columns(2)
    with left:
        st.markdown("**Spec**")
        st.json(rec["spec"], expanded=False)
    result = rec.get("result")
    with right:
        st.markdown("**Environment**")
        st.json(result["provenance"] if result else {}, expanded=False)
    curves = data.guarded(data.curves, (job_id,), default=pd.DataFrame())
    if curves.empty and rec["status"] == "running":
        st.caption("The learning curves appear here as each epoch ends.")
    if not curves.empty:
        curves = curves.assign(run=job_id[:8])
        epochs = rec["spec"].get("epochs")
        st.markdown(f"**Learning curves** ({len(curves)} of {epochs} epochs)")
        for col, chart in zip(st.columns(2), charts.learning_curves(curves), strict=False):
            col.altair_chart(chart, width="stretch")
        bands = charts.input_bands(curves, by="run")
        if bands is not None:
            st.markdown("**Last hidden layer inputs** (15th, 50th and 85th percentile)")
            st.altair_chart(bands, width="stretch")
    logs = data.guarded(data.job_log, job_id, default=pd.DataFrame())
    with st.expander(f"Worker log ({len(logs)} lines)"):
        if logs.empty:
            st.caption("The worker's log lines for this job are stored when an attempt ends.")
        else:
            st.code("\n".join(
                f"{r.logged_at:%H:%M:%S} #{r.attempt} {r.level:<7} {r.logger}: {r.message}"
                for r in logs.itertuples()
            ), language=None)  # fmt: skip
    inf = data.guarded(data.inference, (job_id,), default=pd.DataFrame())
    if not inf.empty:
        st.markdown("**Inference (eval mode)**")
        st.dataframe(inf.drop(columns=["job_id"]), hide_index=True)


def render() -> None:
    st.title("Jobs")
    c1, c2, c3 = st.columns(3)
    status = c1.multiselect("Status", JOB_STATUSES, key="jobs_status")
    groups = data.guarded(data.groups, default=[])
    group = c2.selectbox("Group", ["", *groups], key="jobs_group")
    label = c3.text_input("Label", key="jobs_label")
    live_table(status, group, label)
    runs = data.guarded(data.suite_runs, default=pd.DataFrame())
    if not runs.empty and (running := runs[runs["state"] == "running"]).shape[0]:
        st.markdown("**Suite runs in progress** (the workers send each next round of seeds)")
        st.dataframe(running, hide_index=True)
    st.divider()
    picker(tuple(status), group, label)


@st.fragment(run_every=REFRESH_S)
def picker(status: tuple[str, ...], group: str, label: str) -> None:
    """A job and its story, refreshed: new jobs join the list, curves grow while it runs."""
    df = data.guarded(data.jobs, status, group, label, default=pd.DataFrame())
    if df.empty:
        return
    options = df["job_id"].tolist()
    fmt = dict(
        zip(
            df["job_id"],
            df["job_id"].str[:8] + " " + df["status"] + " " + df["label"].fillna(""),
            strict=True,
        )
    )
    job_id = st.selectbox("Job", options, format_func=fmt.get, key="jobs_selected")
    b1, b2, _ = st.columns([1, 1, 6])
    b1.button("Cancel", key="jobs_cancel", on_click=_act, args=("cancel", job_id))
    b2.button("Retry", key="jobs_retry", on_click=_act, args=("retry", job_id))
    if msg := st.session_state.pop("job_action", None):
        st.toast(msg)
        st.info(msg)
    detail(job_id)


render()
