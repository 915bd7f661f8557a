"""`bnbench run`: one benchmark, locally, with a progress bar and a results table."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from cli.spec_options import SpecCommand, fail, spec_from_input, spec_input
from core.spec.parse import SpecError


@click.command(cls=SpecCommand)
@spec_input
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the result JSON to this file.",
)
@click.option("--dry-run", is_flag=True, help="Validate and print the spec; run nothing.")
@click.option(
    "--record/--no-record",
    default=True,
    help="Record the run as a job in the results database (BNBENCH_DATABASE_URL).",
)
@click.option("--label", help="Label stored with the job, for filtering later.")
@click.option("--group", "group_id", help="Group id stored with the job, e.g. a sweep name.")
def run(
    spec_file, preset_name, overrides, as_json, out, dry_run, record, label, group_id, **fields
) -> None:
    """Run SPEC_FILE (YAML or JSON) locally. Precedence: preset < file < flags < --set."""
    err = Console(stderr=True)
    try:
        spec = spec_from_input(spec_file, preset_name, overrides, fields)
    except SpecError as e:
        fail(e.lines())
    if dry_run:
        click.echo(spec.canonical_json())
        return

    try:
        import torch  # noqa: F401
    except ImportError:
        fail(["bnbench run needs torch: pip install 'bnbench[worker]'"])
    from sqlalchemy.exc import OperationalError

    from cli.report import render
    from core.engine.data.formats import DataError
    from core.engine.errors import BenchError
    from core.engine.run import run as run_bench
    from core.local_run import run_recorded
    from core.store.db import redacted

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TextColumn("{task.fields[where]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=as_json,
    ) as bar:
        task = bar.add_task(f"{spec.kind} {spec.spec_hash()}", total=1.0, where="")

        def progress(epoch: int, step: int, fraction: float) -> None:
            where = f"epoch {epoch}/{spec.epochs}" if spec.kind == "model" and epoch else ""
            bar.update(task, completed=fraction, where=where)

        job_id = None
        try:
            if record:
                job_id, result = run_recorded(spec, progress, label=label, group_id=group_id)
            else:
                result = run_bench(spec, progress=progress)
        except (BenchError, DataError) as e:
            bar.stop()
            fail([str(e)])
        except OperationalError as e:
            bar.stop()
            fail([f"database {redacted()} is unreachable: {e.orig}; check "
                  "BNBENCH_DATABASE_URL, or pass --no-record"])  # fmt: skip
    text = result.model_dump_json(indent=2)
    if out is not None:
        out.write_text(text)
    if as_json:
        click.echo(text)
    else:
        render(result, Console())
    if job_id is not None:
        err.print(
            f"recorded as job [bold]{job_id}[/] in {redacted()}; see `bnbench show {job_id[:8]}`"
        )
