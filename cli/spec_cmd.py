"""`bnbench spec` and `bnbench presets`: what can be set, and the named starting points."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from core.spec.choices import GROUPS
from core.spec.presets import PRESETS
from core.spec.schema import BenchSpec, fields_by_group


@click.command()
@click.option("--json-schema", is_flag=True, help="Print the JSON Schema of BenchSpec.")
@click.option("--defaults", is_flag=True, help="Print the default spec as YAML.")
@click.option("--markdown", is_flag=True, help="Print the field reference of docs/spec.md.")
def spec(json_schema: bool, defaults: bool, markdown: bool) -> None:
    """List every BenchSpec field with its type, default and meaning."""
    if markdown:
        from core.spec.docs import spec_markdown

        click.echo(spec_markdown())
        return
    if json_schema:
        click.echo(json.dumps(BenchSpec.model_json_schema(), indent=2))
        return
    if defaults:
        import yaml

        click.echo(yaml.safe_dump(BenchSpec().model_dump(mode="json"), sort_keys=False))
        return
    from core.spec.docs import type_text

    console = Console()
    for group, names in fields_by_group().items():
        t = Table(title=GROUPS[group], title_justify="left")
        for c in ("field", "type", "default", "description"):
            t.add_column(c)
        for n in names:
            info = BenchSpec.model_fields[n]
            t.add_row(n, type_text(info.annotation), repr(info.default), info.description or "")
        console.print(t)


@click.command()
def presets() -> None:
    """List the presets usable with `bnbench run --preset NAME`."""
    t = Table(title="Presets", title_justify="left")
    t.add_column("name", style="bold")
    t.add_column("description")
    t.add_column("fields")
    for name, (desc, fields) in PRESETS.items():
        t.add_row(name, desc, ", ".join(f"{k}={v}" for k, v in fields.items()))
    Console().print(t)
