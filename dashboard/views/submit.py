"""Submit: a spec form generated from BenchSpec, presets, grid sweeps, queue and GPU class."""

from __future__ import annotations

import streamlit as st

from core.errors import ConfigError
from core.spec.parse import SpecError, validate_spec
from core.spec.presets import PRESETS, preset
from dashboard import data, spec_form
from dashboard.safe_text import plain_text

QUEUES = ["by device (cpu / gpu)", "cpu", "gpu"]


def _apply_preset() -> None:
    name = st.session_state.get("preset")
    spec_form.load_values(preset(name) if name and name != "(defaults)" else {})


def _submit() -> None:
    from worker.client import BrokerUnavailable, NotSentYet, parse_grid, submit_grid

    st.session_state.pop("submitted", None)
    errors: dict[str, str] = {}
    queue = st.session_state.get("queue")
    queue = None if not queue or queue.startswith("by device") else queue
    gpu_model = (st.session_state.get("gpu_model_route") or "").strip() or None
    try:
        base = validate_spec(spec_form.read_values())
        grid = parse_grid(st.session_state.get("sweep", "").splitlines(), "sweep")
        repeats = int(st.session_state.get("sweep_repeats", 1))
        group = (st.session_state.get("group") or "").strip() or None
        label = (st.session_state.get("label") or "").strip() or None
        group, ids = submit_grid(
            base, grid, repeats, group, queue=queue, label=label, gpu_model=gpu_model
        )
    except SpecError as e:
        for field, message in e.problems:
            errors[field.split(".")[0]] = message
        st.session_state[spec_form.ERRORS] = errors
        return
    except BrokerUnavailable as e:
        st.session_state["submit_failure"] = str(e)
        return
    except NotSentYet as e:
        ids, group = e.ids, e.group
        st.session_state["submit_warning"] = str(e)
    except ConfigError as e:
        st.session_state["submit_failure"] = f"a setting of this deployment is invalid: {e}"
        return
    st.session_state[spec_form.ERRORS] = {}
    st.session_state["submitted"] = {"ids": ids, "group": group}
    data.clear()
    st.session_state["idle_queues"] = data.guarded(data.idle_queue_warnings, default=[])


def render() -> None:
    st.title("Submit a benchmark")
    st.caption("Every field comes from `BenchSpec`; hover a field for its meaning.")
    st.selectbox(
        "Start from a preset",
        ["(defaults)", *PRESETS],
        key="preset",
        on_change=_apply_preset,
        help="; ".join(f"{k}: {v[0]}" for k, v in PRESETS.items()),
    )
    with st.container(border=True):
        spec_form.render_fields()
        st.subheader("Sweep and routing")
        c1, c2 = st.columns(2)
        c1.text_area(
            "Sweep: one `field=v1,v2,...` per line",
            key="sweep",
            placeholder="dropout_p=0,0.1,0.5\nnorm=batchnorm,none",
        )
        c2.number_input(
            "Seeds per spec (seed, seed+1, ...)",
            min_value=1,
            max_value=100,
            value=1,
            key="sweep_repeats",
        )
        c1.selectbox("Queue", QUEUES, key="queue")
        c2.text_input(
            "GPU model (routes to gpu.<model>)", key="gpu_model_route", placeholder="h100"
        )
        c1.text_input("Label", key="label")
        c2.text_input("Group (default: a new one for sweeps)", key="group")
        st.button("Submit", type="primary", on_click=_submit, key="submit")
    if errors := st.session_state.get(spec_form.ERRORS):
        st.error("Fix the highlighted fields: " + "; ".join(f"{k}: {v}" for k, v in errors.items()))
    if failure := st.session_state.pop("submit_failure", None):
        st.error(f"Could not submit: {plain_text(failure)} `bnbench doctor` checks every setting.")
    if warning := st.session_state.pop("submit_warning", None):
        st.warning(plain_text(warning))
    if done := st.session_state.get("submitted"):
        ids, group = done["ids"], done["group"]
        head = f"Submitted {len(ids)} job{'s' if len(ids) > 1 else ''}"
        st.success(
            f"{head}{f' in group `{group}`' if group else ''}: "
            + ", ".join(f"`{i[:8]}`" for i in ids[:20])
        )
        st.markdown("See them on [Jobs](/) and [Compare](/compare).")  # Jobs is the default page
        for line in st.session_state.get("idle_queues", []):
            st.warning(plain_text(line), icon=":material/hourglass_empty:")


render()
