"""`bnbench show JOB_ID`: the whole story of one job."""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from core.spec.schema import BenchSpec


@click.command()
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="Print the job record as JSON.")
@click.option("--log", "with_log", is_flag=True, help="Print the worker's log lines for the job.")
def show(job_id: str, as_json: bool, with_log: bool) -> None:
    """Spec, status, environment, learning curves and inference table of one job.

    JOB_ID may be a unique prefix of at least 4 characters.
    """
    from cli.report import render
    from core.engine.result import BenchResult
    from core.store.read import JobNotFound, job_record, resolve_job_id

    console = Console()
    try:
        rec = job_record(resolve_job_id(job_id))
    except JobNotFound as e:
        Console(stderr=True).print(f"[red]error:[/] {escape(str(e))}", highlight=False)
        sys.exit(2)
    if with_log:
        from core.store.details import job_log

        lines = job_log(rec["job_id"])
        for r in lines.itertuples():
            click.echo(f"{r.logged_at:%Y-%m-%d %H:%M:%S} #{r.attempt} {r.level} {r.logger}: "
                       f"{r.message}")  # fmt: skip
        if lines.empty:
            where = ("it ran in `bnbench run`, whose log is its terminal"
                     if rec["queue"] == "local" else "its worker wrote none")  # fmt: skip
            Console(stderr=True).print(f"no log lines for {rec['job_id'][:8]}: {where}")
        return
    if as_json:
        import json

        click.echo(json.dumps(rec.as_dict(), default=str, indent=2))
        return
    t = Table(title=f"Job {rec['job_id']}", show_header=False, title_justify="left")
    t.add_column("", style="bold")
    t.add_column("")
    for key in (
        "status",
        "kind",
        "queue",
        "group_id",
        "label",
        "created_at",
        "started_at",
        "finished_at",
        "worker",
        "attempt",
        "spec_hash",
        "error_type",
        "error_message",
    ):
        if rec.get(key) not in (None, ""):
            t.add_row(key, escape(str(rec[key])))
    console.print(t)
    defaults = BenchSpec().model_dump(mode="json")
    changed = {k: v for k, v in rec["spec"].items() if defaults.get(k) != v}
    spec_t = Table(title="Spec (fields that differ from the defaults)", title_justify="left")
    spec_t.add_column("field")
    spec_t.add_column("value")
    spec_t.add_column("default", style="dim")
    for k, v in changed.items():
        spec_t.add_row(k, escape(str(v)), escape(str(defaults.get(k))))
    console.print(spec_t)
    if rec.get("result"):
        result = BenchResult.model_validate(rec["result"])
        env = Table(title="Environment", show_header=False, title_justify="left")
        env.add_column("", style="bold")
        env.add_column("")
        for key, value in result.provenance.model_dump().items():
            env.add_row(key, "-" if value is None else str(value))
        console.print(env)
        render(result, console)
    elif rec["status"] in ("queued", "running"):
        console.print(f"No result yet: {rec['status']}, {100 * (rec['progress'] or 0):.0f}% done.")
