"""History: one series over time (core.history), with the sets where it changed marked, and
each change linked to the comparison of the two sets."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from core.config import dashboard_url
from core.history import compare_link, result_sets, spec_label, steps
from core.history_defaults import METRICS
from core.store.fingerprints import HARDWARE, PARTS
from dashboard import data

MARK = {"regression": "#d62728", "improvement": "#2ca02c"}


def render() -> None:
    st.title("History")
    st.caption(
        "A series is one spec (seed aside) over time on the fingerprint parts held; the parts "
        "not held may change along it. Each result set (a group, or consecutive runs in no "
        "group) is compared with the one before: a two-sided Mann-Whitney U test at 0.05 and a "
        "median 5% worse make a regression (docs/history.md)."
    )
    c1, c2 = st.columns([1, 2])
    metric = c1.selectbox("Metric", list(METRICS), key="hist_metric")
    hold = c2.multiselect("Held fixed", list(PARTS), default=list(HARDWARE), key="hist_hold")
    found: dict[str, pd.DataFrame] = data.guarded(
        data.history_series, metric, tuple(hold), default={}
    )
    if not found:
        st.info(
            "No results with this metric yet. Run a spec again later (`bnbench submit --preset "
            "smoke --repeats 5`), and `bnbench regressions` compares the runs."
        )
        return
    newest = sorted(found, key=lambda k: found[k]["created_at"].max(), reverse=True)
    labels = {
        k: f"{found[k]['repeat_key'].iloc[0][:8]} {spec_label(found[k]['spec'].iloc[-1])} "
        f"({len(found[k])} results)"
        for k in newest
    }
    picked = st.selectbox("Series", newest, format_func=lambda k: labels[k], key="hist_series")
    key = str(picked or newest[0])
    g = found[key]
    sets = {j: s.label() for s in result_sets(g) for j in s.job_ids}
    points = g.assign(set=g["job_id"].map(sets))
    changes = steps(key, g, metric)
    chart = (
        alt.Chart(points)
        .mark_circle(size=70)
        .encode(
            x=alt.X("created_at:T", title="written"),
            y=alt.Y("value:Q", title=metric, scale=alt.Scale(zero=False)),
            color=alt.Color("set:N", legend=None),
            tooltip=["set", "job_id", "value", "torch", "threads", "gpu_name"],
        )
    )
    marked = [
        {"at": v.contender.first_at, "status": v.status, "change": f"{v.change:+.1%}"}
        for v in changes
        if v.status in MARK
    ]
    if marked:
        rules = (
            alt.Chart(pd.DataFrame(marked))
            .mark_rule(strokeDash=[6, 3], strokeWidth=2)
            .encode(
                x="at:T",
                color=alt.Color(
                    "status:N", scale=alt.Scale(domain=list(MARK), range=list(MARK.values()))
                ),
                tooltip=["status", "change"],
            )
        )
        chart = chart + rules
    st.altair_chart(chart, width="stretch")
    st.caption("Dashed lines: a set that differs from the one before it (red slower, green "
               "faster). Hover a point for its job and environment.")  # fmt: skip
    if not changes:
        st.caption("One result set so far: nothing to compare it with.")
        return
    base = dashboard_url()
    table = pd.DataFrame(
        [
            {
                "from": v.baseline.label(),
                "to": v.contender.label(),
                "status": v.status,
                "change": f"{v.change:+.1%}",
                "95% CI of the ratio": f"[{v.ci[0]:.3f}, {v.ci[1]:.3f}]" if v.ci else "-",
                "p": "-" if v.p_value is None else f"{v.p_value:.3g}",
                "what changed": v.what_changed,
                "compare": compare_link(v, base),
            }
            for v in reversed(changes)
        ]
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={"compare": st.column_config.LinkColumn("compare", display_text="open")},
    )


render()
