"""Layers: microbenchmarks on a roofline against each device's measured copy bandwidth."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import data


def render() -> None:
    st.title("Layer microbenchmarks")
    df = data.guarded(data.layer_benchmarks, default=pd.DataFrame())
    df = df.dropna(subset=["achieved_gbps"]) if not df.empty else df
    if df.empty:
        st.info(
            "No layer benchmarks yet. Try `bnbench submit --preset bn-layer` or "
            "`bnbench run --kind layer --layer batchnorm2d --mode train_fwdbwd`."
        )
        return
    df = df.assign(what=df["layer"] + " " + df["mode"] + " " + df["dtype"])
    copy = df.groupby("machine", as_index=False)["copy_gbps"].median()
    points = (
        alt.Chart(df)
        .mark_circle(size=100)
        .encode(
            x=alt.X("what:N", title="layer, mode, dtype"),
            y=alt.Y("achieved_gbps:Q", title="achieved bandwidth (GB/s)"),
            color=alt.Color("machine:N"),
            tooltip=["what", "shape", "median_ms", "achieved_gbps", "roofline_fraction", "machine"],
        )
    )
    roof = (
        alt.Chart(copy)
        .mark_rule(strokeDash=[6, 3])
        .encode(
            y=alt.Y("copy_gbps:Q", title="achieved bandwidth (GB/s)"),
            color="machine:N",
            tooltip=["machine", "copy_gbps"],
        )
    )
    st.altair_chart(points + roof, width="stretch")
    st.caption("Dashed lines: copy bandwidth measured in the same jobs (the roofline).")
    st.dataframe(
        df[
            [
                "what",
                "shape",
                "median_ms",
                "iqr_ms",
                "bytes_moved",
                "achieved_gbps",
                "copy_gbps",
                "roofline_fraction",
                "machine",
            ]
        ],
        hide_index=True,
    )


render()
