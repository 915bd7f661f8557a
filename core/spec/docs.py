"""Markdown reference of BenchSpec, generated so docs/spec.md cannot drift from the code."""

from __future__ import annotations

import typing

from core.spec.choices import GROUPS
from core.spec.schema import BenchSpec, fields_by_group


def type_text(annotation: typing.Any) -> str:
    """A field's type as people read it: `int | None`, `fp32 | bf16` for a Literal."""
    if typing.get_origin(annotation) is typing.Literal:
        return " | ".join(str(a) for a in typing.get_args(annotation))
    text = getattr(annotation, "__name__", None) or str(annotation)
    return text.replace("typing.", "")


def _type(annotation: typing.Any) -> str:
    if typing.get_origin(annotation) is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in typing.get_args(annotation))
    return type_text(annotation).replace("|", "\\|")


def _bounds(name: str) -> str:
    info = BenchSpec.model_fields[name]
    parts = []
    for meta in info.metadata:
        for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            value = getattr(meta, attr, None)
            if value is not None:
                parts.append(f"{sym} {value}")
        for attr, label in (("min_length", "min len"), ("max_length", "max len")):
            value = getattr(meta, attr, None)
            if value is not None:
                parts.append(f"{label} {value}")
        if getattr(meta, "pattern", None):
            parts.append(f"pattern `{meta.pattern}`")
    return ", ".join(parts)


def _default(value: typing.Any) -> str:
    if value is None:
        return "`null`"
    if isinstance(value, tuple):
        return "`[" + ", ".join(map(str, value)) + "]`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def spec_markdown() -> str:
    lines = []
    for group, names in fields_by_group().items():
        lines += [
            f"### {GROUPS[group]}",
            "",
            "| field | type | default | bounds | meaning |",
            "|---|---|---|---|---|",
        ]
        for n in names:
            info = BenchSpec.model_fields[n]
            lines.append(
                f"| `{n}` | {_type(info.annotation)} | {_default(info.default)} | "
                f"{_bounds(n)} | {info.description} |"
            )
        lines.append("")
    return "\n".join(lines)
