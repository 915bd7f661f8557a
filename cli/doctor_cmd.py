"""`bnbench doctor`: the deployment's checks (worker.doctor) as a table, or JSON."""

from __future__ import annotations

import json
from dataclasses import asdict

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from worker.doctor import FAIL, STYLE, run_checks, summary


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the checks as a JSON list instead.")
def doctor(as_json: bool) -> None:
    """Check this deployment and print what to fix.

    Checks the BNBENCH_* settings, that the database answers and is migrated to head, that
    the broker answers a PING, that workers send heartbeats, and which GPUs torch sees.
    Passwords are masked. Exits with 1 when a check fails; warnings exit with 0.
    """
    checks = run_checks()
    if as_json:
        click.echo(json.dumps([asdict(c) for c in checks], indent=2))
    else:
        table = Table(title="bnbench doctor", title_justify="left", show_lines=True)
        table.add_column("check", no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("detail / fix", overflow="fold")  # paths must stay whole
        for c in checks:
            # Text, not markup: details quote error messages with brackets in them.
            cell = Text(c.detail)
            if c.fix:
                cell.append(f"\nfix: {c.fix}", style="bold")
            table.add_row(c.name, Text(c.status, style=STYLE[c.status]), cell)
        console = Console()
        console.print(table)
        console.print(summary(checks), markup=False)
    if any(c.status == FAIL for c in checks):
        raise SystemExit(1)
