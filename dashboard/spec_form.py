"""The Submit form, generated from BenchSpec: groups, help texts, bounds and per-field errors.

Widgets keep their values under `spec.<field>` in session state; a submit callback validates
them and stores any errors under `spec_errors`, which the next run shows beside each field.
Numbers are text inputs: a number input clamps an out-of-range entry back to its bound or
keeps its old value, so the job would run a spec the form no longer shows.
"""

from __future__ import annotations

import typing
from typing import Any

import streamlit as st

from core.spec.choices import FAMILY_DEFAULTS, GROUPS, SEEDNET_FIXED
from core.spec.parse import SpecError, parse_override, validate_spec
from core.spec.schema import BenchSpec, fields_by_group

KEY = "spec."
ERRORS = "spec_errors"
HIDDEN = {"spec_version"}


def key(name: str) -> str:
    return KEY + name


def bounds_text(name: str) -> str:
    """The field's range as a placeholder, e.g. `0 <= x < 1`."""
    parts = []
    for meta in BenchSpec.model_fields[name].metadata:
        for attr, op in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            value = getattr(meta, attr, None)
            if value is not None:
                parts.append(f"{op} {value:g}")
    return "x " + " and ".join(parts) if parts else ""


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


def widget_value(name: str, value: Any) -> Any:
    """A spec value as its widget holds it: text for numbers, lists and optional values."""
    if kind_of(name) in ("text", "int", "float"):
        return to_text(value)
    return value


def load_values(values: dict[str, Any]) -> None:
    """Put a spec's values into the widgets (a preset, or the defaults)."""
    spec = BenchSpec.model_validate(values).model_dump(mode="json")
    for name, value in spec.items():
        if name in HIDDEN:
            continue
        st.session_state[key(name)] = widget_value(name, value)
    st.session_state[ERRORS] = {}


def _number(name: str, raw: str) -> int | float:
    """An int or float field's text; SpecError, naming the field, when it is not a number."""
    kind = kind_of(name)
    try:
        return int(raw) if kind == "int" else float(raw)
    except ValueError:
        want = "a whole number" if kind == "int" else "a number"
        fix = f"type {want} {bounds_text(name)}".rstrip()
        raise SpecError([(name, f"{raw!r} is not {want}; {fix}")]) from None


def read_values() -> dict[str, Any]:
    """The form's values as spec fields; text fields are read like `--set` values.

    Raises SpecError naming every field whose text is not a number."""
    out: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for name in BenchSpec.model_fields:
        if name in HIDDEN or key(name) not in st.session_state:
            continue
        value = st.session_state[key(name)]
        if kind_of(name) in ("int", "float"):
            try:
                value = _number(name, str(value).strip())
            except SpecError as e:
                problems += e.problems
                continue
        elif kind_of(name) == "text":
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
    if problems:
        try:
            validate_spec(out)
        except SpecError as e:  # the other fields' faults too, in one message
            problems += e.problems
        raise SpecError(problems)
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
        st.session_state[key(name)] = widget_value(name, value)


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
    elif kind in ("int", "float"):
        st.text_input(name, key=k, help=help_text, placeholder=bounds_text(name))
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
