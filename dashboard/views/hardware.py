"""Hardware: the fleet matrix. Each benchmark's speed on each GPU model (or torch version),
as a ratio to a chosen column, with its interval and a noise flag (core.fleet)."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from core.fleet import COLUMNS, columns_of, label, matrix
from dashboard import data


def render() -> None:
    st.title("Hardware")
    st.caption(
        "One row per benchmark, one column per GPU model or torch version: its speed as a "
        "ratio to the reference column (above 1 is faster), the 95% bootstrap interval over "
        "the seeds, and ⚠ where a side's IQR is over 10% of its median. Fill it with "
        "`bnbench suite run throughput --gpu-model all`."
    )
    groups: list[str] = data.guarded(data.groups, default=[])
    if not groups:
        st.info("No groups yet. `bnbench suite run throughput --gpu-model all` runs one per GPU "
                "model of the fleet; a sweep's group works too.")  # fmt: skip
        return
    chosen = st.multiselect("Groups", groups, default=groups[:2], key="hw_groups")
    by = st.radio("Columns", list(COLUMNS), format_func=COLUMNS.get, horizontal=True,
                  key="hw_by")  # fmt: skip
    df = data.guarded(data.fleet_speeds, tuple(chosen), default=pd.DataFrame())
    if df.empty:
        st.info("These groups have no succeeded job with a throughput or a layer timing yet.")
        return
    reference = st.selectbox("Reference column", columns_of(df, by), key="hw_reference")
    m = matrix(df, by, reference)
    st.dataframe(m.map(label), width="stretch")
    heat = [
        {
            "benchmark": bench,
            "column": col,
            "log2 ratio": np.log2(c["ratio"]),
            "cell": label(c),
        }
        for bench, row in m.iterrows()
        for col, c in row.items()
        if c
    ]
    chart = (
        alt.Chart(pd.DataFrame(heat))
        .mark_rect()
        .encode(
            x=alt.X("column:N", title=COLUMNS[by]),
            y=alt.Y("benchmark:N", title=None),
            color=alt.Color("log2 ratio:Q", scale=alt.Scale(scheme="redblue", domainMid=0)),
            tooltip=["benchmark", "column", "cell"],
        )
    )
    st.altair_chart(chart, width="stretch")


render()
