"""Claims: each suite's verdicts next to the evidence they rest on."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.suites.report import method_line
from core.suites.verdicts import Verdict
from dashboard import charts, data

BADGE = {
    "supported": "green",
    "not supported": "red",
    "equivalent": "violet",
    "inconclusive": "orange",
    "corrected": "blue",
    "invalid design": "gray",
}


@st.cache_data(ttl=data.TTL_S, show_spinner=False)
def judged(suite_name: str, group: str) -> tuple[list[dict], dict[str, pd.DataFrame]]:
    from core.suites import suites
    from core.suites.report import evaluate, results_by_experiment

    suite = suites()[suite_name]
    # Direct measurements need torch, which the dashboard never imports.
    by_exp = results_by_experiment(group)
    verdicts = evaluate(suite, group, measurements=False, data=by_exp)
    return [v.model_dump() for v in verdicts], by_exp


def render() -> None:
    from core.suites import suites

    st.title("Claims")
    st.caption(
        "Each suite turns advice into measurements: a verdict from the claim's own test "
        "(superiority, equivalence or non-inferiority, arms paired by seed), the effect with "
        "its 95% CI, the checks the design had to pass, and the evidence by arm and seed. "
        "Each claim is tested at the 5% level, with no correction across claims."
    )
    groups = data.guarded(data.groups, default=[])
    registry = suites()
    runs = {name: [g for g in groups if g.startswith(f"suite-{name}-")] for name in registry}
    if not any(runs.values()):
        st.info(
            "No suite has run yet. Start one: `bnbench suite run article --profile quick "
            "--wait`, then come back."
        )
        return
    name = st.selectbox("Suite", [n for n, r in runs.items() if r], key="claims_suite")
    group = st.selectbox("Run", runs[name], key="claims_group")
    verdicts, by_exp = data.guarded(judged, name, group, default=([], {}))
    suite = registry[name]
    counts = pd.Series([v["verdict"] for v in verdicts]).value_counts()
    cols = st.columns(len(BADGE))
    for col, verdict in zip(cols, BADGE, strict=True):
        col.metric(verdict, int(counts.get(verdict, 0)))
    from core.suites.report import is_measurement

    judged_exps = [e for e in suite.experiments if not is_measurement(e)]
    for exp in suite.experiments:
        if is_measurement(exp):
            with st.container(border=True):
                st.markdown(f"**{exp.claim}**")
                st.write(
                    f"Answered by measuring PyTorch itself: `bnbench suite report {name}` "
                    "prints the verdict (see also docs/suites.md)."
                )
    for v, exp in zip(verdicts, judged_exps, strict=True):
        with st.container(border=True):
            st.markdown(f"**{v['claim']}**  :{BADGE[v['verdict']]}-badge[{v['verdict']}]")
            if v["effect"] is not None:
                ci = (
                    ""
                    if v["ci_low"] is None
                    else f" (95% CI {v['ci_low']:+.3f} to {v['ci_high']:+.3f}, n={v['n']})"
                )
                st.caption(f"{v['effect_name']}: {v['effect']:+.3f}{ci}")
            st.caption(method_line(Verdict(**v)))
            st.write(v["explanation"])
            curves = lambda ids: data.guarded(data.curves, ids, default=pd.DataFrame())  # noqa: E731
            for chart in charts.experiment_charts(exp, by_exp.get(exp.runs_key), curves):
                st.altair_chart(chart, width="stretch")
            with st.expander("Rule"):
                st.write(exp.rule)


render()
