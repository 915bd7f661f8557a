"""Loading specs from files and `key=value` overrides, and explaining why one is invalid."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from core.errors import FieldErrors
from core.spec.schema import BenchSpec


class SpecError(FieldErrors):
    """An invalid spec. `problems` holds one (field, message) pair per fault."""


def closest_field(name: str) -> str | None:
    match = difflib.get_close_matches(name, list(BenchSpec.model_fields), n=1, cutoff=0.5)
    return match[0] if match else None


def _explain(err: ErrorDetails) -> tuple[str, str]:
    loc = ".".join(str(p) for p in err["loc"]) or "spec"
    kind = err["type"]
    if kind == "extra_forbidden":
        guess = closest_field(str(err["loc"][0]))
        hint = f"; did you mean {guess}?" if guess else "; run `bnbench spec` for the field list"
        return loc, f"unknown field{hint}"
    if kind == "value_error" and err.get("ctx", {}).get("error") is not None:
        exc = err["ctx"]["error"]
        field = getattr(exc, "field", None)
        if field:
            return field, exc.message
    msg = err["msg"].removeprefix("Value error, ")
    if kind in ("finite_number",):
        msg = "must be a finite number, not NaN or infinity"
    field_info = BenchSpec.model_fields.get(str(err["loc"][0])) if err["loc"] else None
    if field_info is not None and kind not in ("value_error",):
        msg = f"{msg} ({field_info.description})"
    return loc, msg


def validate_spec(data: dict[str, Any]) -> BenchSpec:
    """Validate a mapping into a BenchSpec, raising SpecError with every fault named."""
    if not isinstance(data, dict):
        raise SpecError(
            [("spec", f"must be a mapping of field to value, got {type(data).__name__}")]
        )
    try:
        return BenchSpec.model_validate(data)
    except ValidationError as e:
        raise SpecError([_explain(err) for err in e.errors()]) from None


def parse_override(item: str, option: str = "--set") -> tuple[str, Any]:
    """`key=value` with the value read as YAML, so numbers, lists and null keep their type.
    Errors name `option`, the flag the item came from."""
    if "=" not in item:
        raise SpecError([(option, f"expected key=value, got {item!r}")])
    key, raw = item.split("=", 1)
    key = key.strip()
    if not key:
        raise SpecError([(option, f"no field name before '=' in {item!r}; expected key=value")])
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    if isinstance(value, float) and value != value:  # yaml reads .nan
        value = float("nan")
    return key, value


def read_spec_file(path: str | Path) -> dict[str, Any]:
    """A spec mapping from a .yaml, .yml or .json file."""
    p = Path(path)
    if not p.is_file():
        raise SpecError([("spec file", f"{p} does not exist")])
    text = p.read_text()
    try:
        data = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise SpecError(
            [("spec file", f"{p} is not valid {p.suffix[1:] or 'YAML'}: {e}")]
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SpecError([("spec file", f"{p} must hold a mapping of field to value")])
    return data


def build_spec(
    path: str | Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    base: dict[str, Any] | None = None,
    fields: dict[str, Any] | None = None,
) -> BenchSpec:
    """Merge base (a preset), the file, typed fields (CLI flags), then `key=value` overrides."""
    data: dict[str, Any] = dict(base or {})
    if path is not None:
        data.update(read_spec_file(path))
    data.update(fields or {})
    for item in overrides:
        key, value = parse_override(item)
        data[key] = value
    return validate_spec(data)
