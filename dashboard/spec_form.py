"""The Submit form, generated from BenchSpec: groups, help texts, bounds and per-field errors.

Widgets keep their values under `spec.<field>` in session state; a submit callback validates
them and stores any errors under `spec_errors`, which the next run shows beside each field.
"""

from __future__ import annotations

import typing
from typing import Any

import streamlit as st

from core.spec import FAMILY_DEFAULTS, GROUPS, SEEDNET_FIXED, BenchSpec, fields_by_group
from core.spec_io import parse_override

KEY = "spec."
ERRORS = "spec_errors"
HIDDEN = {"spec_version"}


def key(name: str) -> str:
    return KEY + name


def _bounds(name: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for meta in BenchSpec.model_fields[name].metadata:
        for attr, target in (
            ("ge", "min_value"),
            ("gt", "min_value"),
            ("le", "max_value"),
            ("lt", "max_value"),
        ):
            value = getattr(meta, attr, None)
            if value is not None:
                out[target] = value
    return out


def kind_of(name: str) -> str:
    """choice, bool, int, float, or text (optional values, lists and free strings)."""
    ann = BenchSpec.model_fields[name].annotation
    if typing.get_origin(ann) is typing.Literal:
        return "choice"
    return {bool: "bool", int: "int", float: "float"}.get(ann, "text")


def to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return str(value)


def load_values(values: dict[str, Any]) -> None:
    """Put a spec's values into the widgets (a preset, or the defaults)."""
    spec = BenchSpec.model_validate(values).model_dump(mode="json")
    for name, value in spec.items():
        if name in HIDDEN:
            continue
        st.session_state[key(name)] = to_text(value) if kind_of(name) == "text" else value
    st.session_state[ERRORS] = {}


def read_values() -> dict[str, Any]:
    """The form's values as spec fields; text fields are read like `--set` values."""
    out: dict[str, Any] = {}
    for name in BenchSpec.model_fields:
        if name in HIDDEN or key(name) not in st.session_state:
            continue
        value = st.session_state[key(name)]
        if kind_of(name) == "text":
            raw = str(value).strip()
            if not raw:
                value = None
            else:
                is_list = typing.get_origin(BenchSpec.model_fields[name].annotation) is tuple
                text = f"[{raw}]" if is_list and not raw.startswith("[") else raw
                value = parse_override(f"{name}={text}")[1]
                if BenchSpec.model_fields[name].annotation in (str, str | None):
                    value = raw
        out[name] = value
    return out


def _family_changed() -> None:
    """A new family brings its own depth, width and dataset defaults (seednet is fixed)."""
    family = st.session_state[key("family")]
    values = {**FAMILY_DEFAULTS["mlp"], **FAMILY_DEFAULTS.get(family, {})}
    if family != "seednet" and st.session_state.get(key("dataset")) == "synthetic_regression":
        values["dataset"] = "synthetic"
    if family == "seednet":
        values.update(SEEDNET_FIXED)
    for name, value in values.items():
        st.session_state[key(name)] = value


def _widget(name: str) -> None:
    info = BenchSpec.model_fields[name]
    help_text = info.description
    kind = kind_of(name)
    k = key(name)
    if kind == "choice":
        on_change = _family_changed if name == "family" else None
        st.selectbox(
            name, list(typing.get_args(info.annotation)), key=k, help=help_text, on_change=on_change
        )
    elif kind == "bool":
        st.checkbox(name, key=k, help=help_text)
    elif kind == "int":
        bounds = {b: int(v) for b, v in _bounds(name).items()}
        st.number_input(name, step=1, key=k, help=help_text, **bounds)
    elif kind == "float":
        bounds = {b: float(v) for b, v in _bounds(name).items()}
        st.number_input(name, format="%g", step=None, key=k, help=help_text, **bounds)
    else:
        st.text_input(name, key=k, help=help_text + " Leave empty for null.")
    if err := st.session_state.get(ERRORS, {}).get(name):
        st.error(err, icon=":material/error:")


def render_fields(
    expanded: tuple[str, ...] = ("kind", "model", "normalization", "dropout"),
) -> None:
    """Every spec field, grouped as in the spec, two columns per group."""
    if key("kind") not in st.session_state:
        load_values({})
    for group, names in fields_by_group().items():
        names = [n for n in names if n not in HIDDEN]
        errors = st.session_state.get(ERRORS, {})
        with st.expander(
            GROUPS[group], expanded=group in expanded or any(n in errors for n in names)
        ):
            cols = st.columns(2)
            for i, name in enumerate(names):
                with cols[i % 2]:
                    _widget(name)
