"""`bnbench suite`: run a suite through the queue, then judge its claims."""

from __future__ import annotations

import time

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from core.cli.spec_options import fail

STYLE = {
    "supported": "green",
    "not supported": "red",
    "inconclusive": "yellow",
    "corrected": "cyan",
    "equivalent": "magenta",
    "invalid design": "bright_black",
}


def _suite(name: str):
    from core.suites import suites

    registry = suites()
    if name not in registry:
        fail([f"unknown suite {name!r}; choose one of {', '.join(sorted(registry))}"])
    return registry[name]


@click.group()
def suite() -> None:
    """Named suites of experiments that turn the article's advice into verdicts."""


@suite.command("list")
def list_suites() -> None:
    """The suites and their experiments."""
    from core.suites import suites

    for s in suites().values():
        Console().print(f"[bold]{s.name}[/]: {s.description}")
        for e in s.experiments:
            Console().print(f"  {e.key}: {e.claim}")


@suite.command()
@click.argument("name")
@click.option(
    "--profile",
    type=click.Choice(["quick", "full", "ci"]),
    default="quick",
    show_default=True,
    help="quick: a 2-core CPU; full: GPUs; ci: the smallest.",
)
@click.option("--experiment", "only", multiple=True, help="Run only these experiments.")
@click.option("--wait", is_flag=True, help="Show progress until every job has finished.")
@click.option(
    "--local",
    is_flag=True,
    help="Run every job here, one after another, with no broker or worker; results are "
    "recorded in the database like queued ones.",
)
def run(name, profile, only, wait, local) -> None:
    """Submit every experiment of suite NAME as one group (or run it here with --local)."""
    from core.suites import PROFILES
    from core.suites.report import group_prefix

    s = _suite(name)
    experiments = [e for e in s.experiments if not only or e.key in only]
    if only and len(experiments) != len(set(only)):
        fail([f"--experiment: unknown name; choose from {', '.join(e.key for e in s.experiments)}"])
    group = group_prefix(name, profile) + time.strftime("%Y%m%d-%H%M%S")
    specs = s.specs([e.key for e in experiments], PROFILES[profile])
    err = Console(stderr=True)
    if local:
        failed = _run_here(specs, group, err)
        click.echo(group)
        if failed:
            raise SystemExit(1)
        return
    from core.spec_io import SpecError
    from worker.cli import wait_for
    from worker.submit import check_submittable, submit

    try:
        check_submittable([spec for _, spec in specs])  # all or nothing
    except SpecError as e:
        fail([f"suite {name} ({profile}) is over this deployment's limits:", *e.lines()])
    except ValueError as e:
        fail([str(e)])
    ids = [submit(spec, group=group, label=label) for label, spec in specs]
    err.print(f"group [bold]{group}[/]: {len(ids)} jobs")
    click.echo(group)
    if wait:
        wait_for(ids, err)


def _run_here(specs, group: str, err: Console) -> int:
    """Run (label, spec) pairs in this process; returns how many failed (each is recorded)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from core.local_run import run_recorded

    failed = 0
    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err) as bar:
        task = bar.add_task(f"group {group}", total=len(specs))
        for label, spec in specs:
            bar.update(task, description=label)
            try:
                run_recorded(spec, label=label, group_id=group)
            except Exception as e:  # recorded as a failed job; the suite goes on
                failed += 1
                err.print(f"[red]{escape(label)} failed[/]: {escape(f'{type(e).__name__}: {e}')}")
            bar.advance(task)
    err.print(f"group [bold]{group}[/]: {len(specs)} jobs, {failed} failed")
    return failed


@suite.command()
@click.argument("name")
@click.option("--group", "group_id", help="The run to judge [default: the latest].")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="Write the report: .html with charts, otherwise Markdown.",
)
def report(name, group_id, out) -> None:
    """Verdicts of suite NAME's latest run (or --group): effect, 95% CI, explanation."""
    from core.suites.report import evaluate, latest_group, markdown, results_by_experiment

    s = _suite(name)
    group_id = group_id or latest_group(name)
    if group_id is None:
        fail([f"no run of suite {name!r} yet; start one with `bnbench suite run {name}`"])
    by_exp = results_by_experiment(group_id)
    verdicts = evaluate(s, group_id, data=by_exp)
    if out and out.endswith(".html"):
        from dashboard.report_html import render

        with open(out, "w") as f:
            f.write(render(s, group_id, verdicts, by_exp))
    elif out:
        with open(out, "w") as f:
            f.write(markdown(s, group_id, verdicts))
    t = Table(title=f"Suite {name}, group {group_id}", title_justify="left", show_lines=True)
    for c in ("experiment", "verdict", "effect [95% CI]", "why"):
        t.add_column(c, overflow="fold")
    for v in verdicts:
        ci = "" if v.ci_low is None else f" [{v.ci_low:+.3f}, {v.ci_high:+.3f}]"
        effect = "-" if v.effect is None else f"{v.effect:+.3f}{ci}"
        t.add_row(v.experiment, f"[{STYLE[v.verdict]}]{v.verdict}[/]", effect, v.explanation)
    Console().print(t)
