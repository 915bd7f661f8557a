"""Jobs: the live queue, filters, cancel and retry, and one job's whole story."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from core.store.tables import JOB_STATUSES
from dashboard import charts, data, tables
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
            "tags": df["tags"],
            "group": df["group_id"],
            "error": df["error_message"],
        }
    )
    return out


@st.fragment(run_every=REFRESH_S)
def live_table(status, group, label, archived: bool = False) -> None:
    df = data.guarded(data.jobs, tuple(status), group, label, 200, archived,
                      default=pd.DataFrame())  # fmt: skip
    for line in data.guarded(data.idle_queue_warnings, default=[]):
        st.warning(plain_text(line), icon=":material/hourglass_empty:")
    if df.empty:
        st.info(
            "No jobs yet. Submit one on the [Submit](/submit) page, or run "
            "`bnbench submit --preset smoke`."
        )
        return
    tables.show(
        table(df),
        width="stretch",
        column_config={
            "progress": st.column_config.ProgressColumn(
                "progress", min_value=0.0, max_value=1.0, format="percent"
            ),
            "duration (s)": st.column_config.NumberColumn(format="%.1f"),
        },
    )


def _act(action: str, job_id: str) -> None:
    from core.store.jobs import not_retryable
    from worker.client import BrokerUnavailable, cancel, retry

    if action == "cancel":
        st.session_state["job_action"] = f"{job_id[:8]}: {cancel(job_id)}"
        data.clear()
        return
    try:
        retried = retry(job_id)
    except BrokerUnavailable as e:
        st.session_state["job_action"] = f"{job_id[:8]}: not retried: {e}"
        return
    if retried:
        st.session_state["job_action"] = f"{job_id[:8]}: queued again"
    else:
        st.session_state["job_action"] = not_retryable(job_id) or f"{job_id[:8]}: not retried"
    data.clear()


def _save(job_ids: list[str], key: str, group: str | None = None) -> None:
    from core.store.annotations import AnnotationError, edit, set_group_note

    state = st.session_state
    try:
        if group is None:
            old = set(state[f"{key}_old_tags"])
            new = set(state[f"{key}_tags"])
            edit(job_ids, new - old, old - new, state[f"{key}_note"], state[f"{key}_label"])
        else:
            edit(job_ids, state[f"{key}_tags"])
            set_group_note(group, state[f"{key}_note"])
        state["job_action"] = f"saved: {len(job_ids)} job{'s' if len(job_ids) > 1 else ''}"
    except AnnotationError as e:
        state["job_action"] = f"not saved: {e}"
    data.clear()


def _archive(job_ids: list[str], undo: bool) -> None:
    from core.store.annotations import archive

    n = archive(job_ids, undo=undo)
    st.session_state["job_action"] = f"{n} job{'s' if n != 1 else ''} " + (
        "unarchived" if undo else "archived: hidden unless 'archived' is on"
    )
    data.clear()


@st.dialog("Delete for good?")
def _confirm_delete(job_ids: list[str], what: str) -> None:
    st.write(f"{plain_text(what)}: the job rows, results, curves, logs and tags go, and cannot "
             "come back. Archive hides them instead.")  # fmt: skip
    if st.button("Delete", type="primary", key="delete_confirmed"):
        from core.store.annotations import delete_jobs

        deleted, refused = delete_jobs(job_ids)
        msg = f"{len(deleted)} deleted"
        if refused:
            msg += f"; {len(refused)} still queued or running were kept: cancel them first"
        st.session_state["job_action"] = msg
        data.clear()
        st.rerun()


def annotate(row) -> None:
    """Name, tag and note the job; archive or delete it."""
    from core.store.annotations import all_tags

    job_id, key = row["job_id"], f"edit_{row['job_id'][:8]}"
    tags = [t for t in (row.get("tags") or "").split(", ") if t]
    with st.expander("Name, tags and note; archive or delete"):
        with st.form(key):
            st.text_input("Label", value=row.get("label") or "", key=f"{key}_label")
            st.session_state[f"{key}_old_tags"] = tags
            known = sorted({*all_tags(), *tags})
            st.multiselect("Tags", known, default=tags, key=f"{key}_tags", accept_new_options=True,
                           help="Type a new tag and press Enter.")  # fmt: skip
            st.text_area("Note", value=row.get("note") or "", key=f"{key}_note")
            st.form_submit_button("Save", on_click=_save, args=([job_id], key))
        b1, b2, _ = st.columns([1, 1, 4])
        archived = pd.notna(row.get("archived_at"))
        b1.button("Unarchive" if archived else "Archive", key=f"{key}_archive",
                  on_click=_archive, args=([job_id], archived))  # fmt: skip
        if b2.button("Delete…", key=f"{key}_delete"):
            _confirm_delete([job_id], f"job {job_id[:8]}")


def group_actions(group: str) -> None:
    """Tag, note, archive or delete a whole group."""
    from core.store.annotations import group_note, jobs_of

    ids = data.guarded(jobs_of, (), group, default=[])
    if not ids:
        return
    key = "group_edit"
    n = f"{len(ids)} job{'s' if len(ids) != 1 else ''}"
    with st.expander(f"Group {plain_text(group)}: tags, note, archive or delete ({n})"):
        with st.form(key):
            st.multiselect("Add tags to every job", [], key=f"{key}_tags",
                           accept_new_options=True)  # fmt: skip
            st.text_area("Group note", value=group_note(group), key=f"{key}_note")
            st.form_submit_button("Save", on_click=_save, args=(ids, key, group))
        b1, b2, b3, _ = st.columns([1, 1, 1, 3])
        b1.button("Archive group", key="group_archive", on_click=_archive, args=(ids, False))
        b2.button("Unarchive group", key="group_unarchive", on_click=_archive, args=(ids, True))
        if b3.button("Delete group…", key="group_delete"):
            _confirm_delete(ids, f"group {group} ({len(ids)} jobs)")


def detail(job_id: str) -> None:
    from core.store import details, read

    # Read afresh, not through the 5 s cache: this view is watched while the job runs.
    rec = data.guarded(read.job_record, job_id, default=None)
    if rec is None:
        return
    st.subheader(f"Job {job_id}")
    c1, c2, c3 = st.columns(3)
    c1.metric("status", rec["status"])
    c2.metric("attempt", rec["attempt"])
    c3.metric("worker", rec["worker"] or "-")
    if rec.get("error_message"):
        st.error(plain_text(f"{rec['error_type']}: {rec['error_message']}"))
    result = rec.get("result")
    if result and result.get("model"):
        from core.engine.result import ModelResult
        from core.headline import headline

        figures = headline(ModelResult.model_validate(result["model"]))
        for col, (name, value) in zip(st.columns(len(figures)), figures, strict=True):
            col.metric(name, value)
    left, right = st.columns(2)
    with left:
        st.markdown("**Spec**")
        st.json(rec["spec"], expanded=False)
    with right:
        st.markdown("**Environment**")
        st.json(result["provenance"] if result else {}, expanded=False)
    curves = data.guarded(details.epoch_curves, (job_id,), default=pd.DataFrame())
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
        from core.engine.inference_checks import checked

        st.markdown("**Inference (eval mode)**")
        inf = checked(inf)
        if (inf["check"] != "ok").any():
            st.warning("Some inference figures are suspect: see the check column. A busy "
                       "host during the timed rounds does this; run the job again.")  # fmt: skip
        tables.show(inf.drop(columns=["job_id"]))


def render() -> None:
    st.title("Jobs")
    c1, c2, c3, c4 = st.columns([3, 3, 3, 2], vertical_alignment="bottom")
    archived = c4.toggle("archived", key="jobs_archived", help="Show archived jobs and groups.")
    status = c1.multiselect("Status", JOB_STATUSES, key="jobs_status")
    groups = data.guarded(data.groups, archived, default=[])
    group = c2.selectbox("Group", ["", *groups], key="jobs_group")
    label = c3.text_input("Label", key="jobs_label")
    live_table(status, group, label, archived)
    if group:
        group_actions(group)
    runs = data.guarded(data.suite_runs, default=pd.DataFrame())
    if not runs.empty and (running := runs[runs["state"] == "running"]).shape[0]:
        st.markdown("**Suite runs in progress** (the workers send each next round of seeds)")
        st.dataframe(running, hide_index=True)
    st.divider()
    picker(tuple(status), group, label, archived)


def _watch() -> None:
    st.session_state["jobs_watched"] = st.session_state.get("jobs_selected")


@st.fragment(run_every=REFRESH_S)
def picker(status: tuple[str, ...], group: str, label: str, archived: bool = False) -> None:
    """A job and its story, refreshed: new jobs join the list, curves grow while it runs."""
    df = data.guarded(data.jobs, status, group, label, 200, archived, default=pd.DataFrame())
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
    # The browser keeps the picked option's label, which carries the status: once the job
    # starts, that label is gone and the picker would fall back to the first job. So the
    # picked id is remembered apart and put back.
    watched = st.session_state.get("jobs_watched")
    if watched in options:
        st.session_state["jobs_selected"] = watched
    job_id = st.selectbox("Job", options, format_func=fmt.get, key="jobs_selected",
                          on_change=_watch)  # fmt: skip
    st.session_state["jobs_watched"] = job_id
    b1, b2, _ = st.columns([1, 1, 6])
    b1.button("Cancel", key="jobs_cancel", on_click=_act, args=("cancel", job_id))
    b2.button("Retry", key="jobs_retry", on_click=_act, args=("retry", job_id))
    if msg := st.session_state.pop("job_action", None):
        st.toast(msg)
        st.info(msg)
    annotate(df[df["job_id"] == job_id].iloc[0])
    detail(job_id)


render()
