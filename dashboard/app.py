"""bnbench dashboard: `streamlit run dashboard/app.py` or `bnbench dashboard`."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.auth import gate

HERE = Path(__file__).resolve().parent

st.set_page_config(page_title="bnbench", page_icon=":material/speed:", layout="wide")

if gate():
    pages = [
        st.Page(
            HERE / "views/submit.py",
            title="Submit",
            icon=":material/add_circle:",
            url_path="submit",
        ),
        jobs := st.Page(
            HERE / "views/jobs.py",
            title="Jobs",
            icon=":material/list:",
            url_path="home",  # served at "/"; a name that is not /jobs, which leads here
            default=True,
        ),
        st.Page(
            HERE / "views/compare.py",
            title="Compare",
            icon=":material/compare:",
            url_path="compare",
        ),
        st.Page(
            HERE / "views/claims.py",
            title="Claims",
            icon=":material/fact_check:",
            url_path="claims",
        ),
        st.Page(
            HERE / "views/layers.py",
            title="Layers",
            icon=":material/stacked_line_chart:",
            url_path="layers",
        ),
        st.Page(
            HERE / "views/history.py",
            title="History",
            icon=":material/timeline:",
            url_path="history",
        ),
        st.Page(
            HERE / "views/hardware.py",
            title="Hardware",
            icon=":material/developer_board:",
            url_path="hardware",
        ),
        st.Page(
            HERE / "views/workers.py", title="Workers", icon=":material/dns:", url_path="workers"
        ),
    ]
    # The default page lives at "/": /jobs, as linked or typed, leads there too.
    pages.append(
        st.Page(lambda: st.switch_page(jobs), url_path="jobs", title="Jobs", visibility="hidden")
    )
    st.navigation(pages).run()
