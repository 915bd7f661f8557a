"""Click options generated from BenchSpec: one flag per field, help grouped as in the spec."""

from __future__ import annotations

import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from core.spec.choices import GROUPS
from core.spec.schema import BenchSpec, field_group

_SKIP = {"spec_version"}


def option_name(field: str) -> str:
    return "--" + field.replace("_", "-")


def _choices(annotation: Any) -> list[str] | None:
    if typing.get_origin(annotation) is typing.Literal:
        return [str(a) for a in typing.get_args(annotation)]
    return None


def _help(name: str) -> str:
    info = BenchSpec.model_fields[name]
    default = info.default
    shown = (
        "null"
        if default is None
        else (",".join(map(str, default)) if isinstance(default, tuple) else default)
    )
    return f"{info.description} [default: {shown}]"


def spec_options(f: Callable, exclude: frozenset[str] = frozenset()) -> Callable:
    """Decorate a command with --<field> for every spec field; values stay None when unset."""
    for name, info in reversed(list(BenchSpec.model_fields.items())):
        if name in _SKIP or name in exclude:
            continue
        flag = option_name(name)
        if info.annotation is bool:
            f = click.option(f"{flag}/--no-{flag[2:]}", name, default=None, help=_help(name))(f)
        elif choices := _choices(info.annotation):
            f = click.option(
                flag, name, type=click.Choice(choices), default=None, help=_help(name)
            )(f)
        else:
            f = click.option(flag, name, default=None, metavar="VALUE", help=_help(name))(f)
    return f


def spec_values(params: dict[str, Any]) -> dict[str, Any]:
    """The spec fields given on the command line, with values read like --set values."""
    from core.spec.parse import parse_override

    out: dict[str, Any] = {}
    for name in BenchSpec.model_fields:
        value = params.get(name)
        if value is None:
            continue
        if isinstance(value, str) and _choices(BenchSpec.model_fields[name].annotation) is None:
            if "," in value and not value.strip().startswith("["):
                value = f"[{value}]"
            value = parse_override(f"{name}={value}")[1]
        out[name] = value
    return out


class SpecCommand(click.Command):
    """A command whose --help lists the spec flags under the spec's groups."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        by_group: dict[str, list[tuple[str, str]]] = {g: [] for g in GROUPS}
        general: list[tuple[str, str]] = []
        for param in self.get_params(ctx):
            if not isinstance(param, click.Option):
                continue
            rec = param.get_help_record(ctx)
            if rec is None:
                continue
            if param.name in BenchSpec.model_fields:
                by_group[field_group(param.name)].append(rec)
            else:
                general.append(rec)
        with formatter.section("Options"):
            formatter.write_dl(general)
        for group, rows in by_group.items():
            if rows:
                with formatter.section(f"Spec: {GROUPS[group]}"):
                    formatter.write_dl(rows)


def spec_input(f: Callable | None = None, *, exclude: frozenset[str] = frozenset()):
    """SPEC_FILE, --preset, --set and one flag per field: every way to say what to run.

    `exclude` leaves out flags whose name the command uses for something else; those fields
    stay settable with --set.
    """
    if f is None:
        return lambda fn: spec_input(fn, exclude=exclude)
    f = spec_options(f, exclude)
    f = click.option(
        "--set",
        "overrides",
        multiple=True,
        metavar="KEY=VALUE",
        help="Override a field; repeatable. Values are YAML: 0.1, null, [1, 64], true.",
    )(f)
    f = click.option(
        "--preset",
        "preset_name",
        metavar="NAME",
        help="Start from a preset (see `bnbench presets`); the file and flags override it.",
    )(f)
    return click.argument(
        "spec_file", required=False, type=click.Path(dir_okay=False, path_type=Path)
    )(f)


def spec_from_input(spec_file, preset_name, overrides, fields: dict[str, Any]):
    """The validated spec from spec_input's values: preset < file < flags < --set.

    Raises core.spec.parse.SpecError naming every bad field.
    """
    from core.spec.parse import build_spec
    from core.spec.presets import preset

    base = preset(preset_name) if preset_name else {}
    return build_spec(spec_file, overrides, base=base, fields=spec_values(fields))


def fail(lines: list[str], code: int = 2) -> NoReturn:
    """Print errors on stderr and exit with `code` (2: bad input)."""
    import sys

    from rich.console import Console
    from rich.markup import escape

    err = Console(stderr=True)
    for line in lines:
        err.print(f"[red]error:[/] {escape(line)}", highlight=False)
    sys.exit(code)
