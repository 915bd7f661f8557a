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
    from core.suites.report import as_judged, evaluate, results_by_experiment

    suite = suites()[suite_name]
    # Direct measurements need torch, which the dashboard never imports.
    by_exp = results_by_experiment(group)
    verdicts = evaluate(suite, group, measurements=False, data=by_exp)
    return [v.model_dump() for v in verdicts], as_judged(suite, group, by_exp)


def progress(group: str) -> None:
    """A running suite's round and what is still undecided."""
    runs = data.guarded(data.suite_runs, default=pd.DataFrame())
    row = runs[runs["group"] == group] if not runs.empty else runs
    if row.empty:
        return
    r = row.iloc[0]
    if r["state"] == "running":
        st.info(f"Running: round {r['round']}. Still undecided: {r['undecided']}. Verdicts "
                "below are on the runs finished so far.")  # fmt: skip
    else:
        st.caption(f"Done after round {r['round']}.")


def start_form(registry) -> None:
    """Start a suite run from here: the workers run every round, with no client attached."""
    from core.suites import PROFILES

    with st.expander("Run a suite"), st.form("suite_run"):
        name = st.selectbox("Suite", list(registry), key="run_suite")
        profile = st.selectbox(
            "Profile",
            list(PROFILES),
            index=1,
            key="run_profile",
            help="quick: a 2-core CPU; full: GPUs; ci: the smallest.",
        )
        keys = st.multiselect(
            "Experiments (none: all)",
            sorted({e.key for s in registry.values() for e in s.experiments}),
            key="run_experiments",
        )
        if st.form_submit_button("Run"):
            _start(registry, name, profile, keys)


def _start(registry, name: str, profile: str, keys: list[str]) -> None:
    from core.spec.parse import SpecError
    from worker.suite_rounds import submit_suite

    suite = registry[name]
    unknown = [k for k in keys if k not in {e.key for e in suite.experiments}]
    if unknown:
        st.error(f"Experiments: {', '.join(unknown)} not in suite {name}; choose from "
                 f"{', '.join(e.key for e in suite.experiments)}")  # fmt: skip
        return
    try:
        run_id, ids = submit_suite(suite, profile, keys)
    except SpecError as e:
        st.error("\n".join([f"Suite {name} ({profile}) is over this deployment's limits:",
                            *e.lines()]))  # fmt: skip
        return
    except Exception as e:  # the broker or database is away: say which, keep the form
        st.error(f"Could not start the run ({type(e).__name__}: {e}). Jobs already recorded "
                 "are sent by the workers' reconciler once the broker answers; check "
                 "`bnbench doctor`.")  # fmt: skip
        return
    data.clear()
    st.success(f"Started {run_id}: round 1, {len(ids)} jobs. The workers send later rounds.")


def render() -> None:
    from core.suites import suites

    st.title("Claims")
    st.caption(
        "Each suite turns advice into measurements: a verdict from the claim's own test "
        "(superiority, equivalence or non-inferiority, arms paired by seed), the effect with "
        "its CI, the checks the design had to pass, and the evidence by arm and seed. "
        "Each claim is tested at the 5% level, with no correction across claims; seeds come "
        "in rounds, and the 5% is split over a run's looks (Bonferroni across looks)."
    )
    registry = suites()
    start_form(registry)
    groups = data.guarded(data.groups, default=[])
    runs = {name: [g for g in groups if g.startswith(f"suite-{name}-")] for name in registry}
    if not any(runs.values()):
        st.info(
            "No suite has run yet. Start one above, or with `bnbench suite run article "
            "--profile quick --wait`, then come back."
        )
        return
    name = st.selectbox("Suite", [n for n, r in runs.items() if r], key="claims_suite")
    group = st.selectbox("Run", runs[name], key="claims_group")
    progress(group)
    verdicts, by_exp = data.guarded(judged, name, group, default=([], {}))
    suite = registry[name]
    from core.suites.report import is_measurement

    counts = pd.Series([v["verdict"] for v in verdicts]).value_counts()
    measured = [e.key for e in suite.experiments if is_measurement(e)]
    cols = st.columns(len(BADGE) + 1)
    for col, verdict in zip(cols, BADGE, strict=False):
        col.metric(verdict, int(counts.get(verdict, 0)))
    cols[-1].metric(
        "measured: see the report",
        len(measured),
        help="Claims answered by measuring PyTorch itself run in `bnbench suite report`, which "
        "imports torch; the dashboard does not, so the counts beside this one leave them out: "
        + ", ".join(measured),
    )
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
                level = f"{100 * (1 - v['alpha']):.3g}%"
                ci = (
                    ""
                    if v["ci_low"] is None
                    else f" ({level} CI {v['ci_low']:+.3f} to {v['ci_high']:+.3f}, n={v['n']})"
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
