"""`bnbench suite`: run a suite through the queue, then judge its claims."""

from __future__ import annotations

import time

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cli.spec_options import fail
from cli.tables import count, format_option

STYLE = {
    "supported": "green",
    "not supported": "red",
    "inconclusive": "yellow",
    "corrected": "cyan",
    "equivalent": "magenta",
    "invalid design": "bright_black",
}


def _suite(name: str):
    from core.suites import SuiteImportError, suites

    try:
        registry = suites()
    except SuiteImportError as e:
        fail([str(e)])
    if name not in registry:
        fail([f"unknown suite {name!r}; choose one of {', '.join(sorted(registry))}"])
    return registry[name]


def _registry_names() -> list[str]:
    from core.suites import SuiteImportError, suites

    try:
        return list(suites())
    except SuiteImportError as e:
        fail([str(e)])


@click.group()
def suite() -> None:
    """Named suites of experiments that turn the article's advice into verdicts."""


@suite.command("list")
def list_suites() -> None:
    """The suites and their experiments."""
    for name in _registry_names():
        s = _suite(name)
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
@click.option("--queue", help="Send every job to this queue [default: by device].")
@click.option(
    "--gpu-model",
    help="Send every job to this GPU model's queue, e.g. H100; `all`: one run per GPU model "
    "among the live workers, for the fleet matrix (the dashboard's Hardware page).",
)
@click.option(
    "--wait",
    is_flag=True,
    help="Watch the run until every experiment has stopped. Only watches: the workers send "
    "each next round, so a run goes on when this is interrupted.",
)
@click.option(
    "--local",
    is_flag=True,
    help="Run every round here, one job after another, with no broker or worker; results are "
    "recorded in the database like queued ones.",
)
def run(name, profile, only, queue, gpu_model, wait, local) -> None:
    """Run suite NAME in rounds of seeds: the first round for every experiment, then more
    seeds only for the experiments still undecided, up to the profile's last round (see
    docs/suites.md). Prints the run's group id."""
    from core.suites import PROFILES

    s = _suite(name)
    unknown = [k for k in only if k not in {e.key for e in s.experiments}]
    if unknown:
        fail([f"--experiment {unknown[0]}: unknown; choose from "
              f"{', '.join(e.key for e in s.experiments)}"])  # fmt: skip
    keys = list(dict.fromkeys(only))
    err = Console(stderr=True)
    rounds = PROFILES[profile].seed_rounds
    err.print(f"seeds by round: {', '.join(map(str, rounds))} (more only while undecided)")
    if local:
        run_id, failed = _run_here(s, profile, keys, err)
        click.echo(run_id)
        if failed:
            raise SystemExit(1)
        return
    if gpu_model == "all":
        models = _live_gpu_models()
        if not models:
            fail(["--gpu-model all: no live worker has a GPU; start `bnbench worker` on the GPU "
                  "nodes, or name one model"], code=1)  # fmt: skip
        err.print(f"one run per GPU model: {', '.join(models)}")
    else:
        models = [gpu_model]
    run_ids = [_submit_one(s, name, profile, keys, queue, model, err) for model in models]
    if wait:
        for run_id in run_ids:
            watch(run_id, err)


def _live_gpu_models() -> list[str]:
    from core.store.workers import live_workers
    from worker.settings import Settings

    return sorted({w.gpu_model for w in live_workers(Settings.from_env().stale_after_s)
                   if w.gpu_model})  # fmt: skip


def _submit_one(s, name, profile, keys, queue, gpu_model, err) -> str:
    """Submit one run of the suite; prints and returns its group id."""
    from core.spec.parse import SpecError
    from worker.client import BrokerUnavailable, NotSentYet
    from worker.suite_rounds import submit_suite

    try:
        run_id, ids = submit_suite(s, profile, keys, queue, gpu_model)
    except SpecError as e:
        fail([f"suite {name} ({profile}) is over this deployment's limits:", *e.lines()])
    except BrokerUnavailable as e:
        fail([str(e)], code=1)
    except NotSentYet as e:
        err.print(f"[yellow]warning:[/] {escape(str(e))}")
        run_id, ids = e.run_id, e.ids
    except ValueError as e:
        fail([str(e)])
    err.print(f"group [bold]{run_id}[/]: round 1, {count(len(ids), 'job')}")
    click.echo(run_id)
    from cli.queue_cmd import warn_unserved

    warn_unserved(ids, err)
    return run_id


def watch(run_id: str, console: Console, poll_s: float = 1.0) -> None:
    """A progress display of a suite run until it is done: its jobs, round and undecided."""
    from rich import progress as p

    from core.store.read import ResultFilter, query_records
    from core.store.suite_runs import get_run
    from core.suite_runs import undecided

    columns = (p.TextColumn("[bold]{task.description}"), p.BarColumn(), p.MofNCompleteColumn(),
               p.TextColumn("{task.fields[detail]}"), p.TimeElapsedColumn())  # fmt: skip
    final = ("succeeded", "failed", "cancelled")
    warned, last_round, run_seen = False, 0, time.monotonic()
    with p.Progress(*columns, console=console) as bar:
        task = bar.add_task("round 1", total=None, detail="")
        while True:
            run = get_run(run_id)
            recs = query_records(ResultFilter(group_id=run_id), spec=False)
            done = sum(r["status"] in final for r in recs)
            fraction = sum(1.0 if r["status"] in final else (r["progress"] or 0) for r in recs)
            failed = sum(r["status"] == "failed" for r in recs)
            undecided_ = undecided(run)
            detail = f"{len(undecided_)} undecided" + (f", {failed} failed" if failed else "")
            bar.update(task, total=len(recs), completed=fraction, detail=detail,
                       description=f"round {run.round} of at most {run.looks}")  # fmt: skip
            if run.state == "done" and done == len(recs):
                break
            if done == len(recs) and not warned and time.monotonic() - run_seen > 90:
                warned = True  # only watching: the workers send the next round
                console.print(
                    "[yellow]every job has ended but no worker has sent the next round for "
                    "90 s; check the workers' logs (BNBENCH_SUITES must match this one's)[/]"
                )
            if run.round != last_round or done != len(recs):
                last_round, run_seen = run.round, time.monotonic()
            time.sleep(poll_s)
    console.print(
        f"group [bold]{run_id}[/]: done after round {run.round}; "
        f"`bnbench suite report {run.suite} --group {run_id}` for the verdicts"
    )


def _run_here(s, profile: str, keys: list[str], err: Console) -> tuple[str, int]:
    """Every round of the run in this process, the same rounds the workers would run;
    returns (run id, jobs failed). Each job is recorded, failed ones included."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from core.local_run import run_queued
    from core.store.migrate import ensure_schema
    from core.store.suite_runs import get_run
    from core.suite_runs import advance, start

    ensure_schema()

    def here(spec, queue, gpu_model) -> str:
        return "local"

    run_id, ids = start(s, profile, keys, here, mode="local")
    failed = 0
    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=err) as bar:
            seen = 0
            while True:
                rnd = get_run(run_id).round
                what = f"round {rnd}" if rnd != seen else f"round {rnd}: re-runs of noisy timings"
                seen = rnd
                task = bar.add_task(what, total=len(ids))
                for job_id in ids:
                    try:
                        run_queued(job_id)
                    except Exception as e:  # recorded as a failed job; the suite goes on
                        failed += 1
                        err.print(f"[red]job {job_id[:8]} failed[/]: "
                                  f"{escape(f'{type(e).__name__}: {e}')}")  # fmt: skip
                    bar.advance(task)
                ids = advance(run_id, here)
                if not ids:
                    break
    except KeyboardInterrupt:
        from core.store.jobs import request_cancel
        from core.store.read import ResultFilter, query_records

        waiting = query_records(ResultFilter(group_id=run_id, status=("queued",)), spec=False)
        for r in waiting:  # the run then closes, naming what was left undecided
            request_cancel(r["job_id"])
        advance(run_id, here)
        raise
    run = get_run(run_id)
    if run.state != "done":
        fail([f"suite run {run_id} did not finish: a job is still {run.state}; see "
              f"`bnbench jobs --group {run_id}`"])  # fmt: skip
    err.print(f"group [bold]{run_id}[/]: {run.round} rounds, {failed} jobs failed")
    return run_id, failed


@suite.command("runs")
@click.option("--limit", default=10, show_default=True, help="How many runs, newest first.")
@format_option
def list_runs(limit, fmt) -> None:
    """Suite runs: their round, state, and the experiments still undecided."""
    from cli.tables import Column, emit
    from core.store.migrate import ensure_schema
    from core.store.suite_runs import recent_runs
    from core.suite_runs import undecided

    ensure_schema()
    columns = [Column("group", "group", 0), Column("state", "state", 0),
               Column("round", "round", 1), Column("suite", "suite", 1),
               Column("profile", "profile", 2),
               Column("undecided", "undecided", 1, max_width=60)]  # fmt: skip
    rows = [{"group": r.id, "suite": r.suite, "profile": r.profile, "state": r.state,
             "round": f"{r.round} of at most {r.looks}",
             "undecided": ", ".join(undecided(r)) or "-"} for r in recent_runs(limit)]  # fmt: skip
    emit(columns, rows, "Suite runs", fmt)


@suite.command()
@click.argument("name")
@click.option("--group", "group_id", help="The run to judge [default: the latest].")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="Write the report: .html with charts, otherwise Markdown.",
)
def report(name, group_id, out) -> None:
    """Verdicts of suite NAME's latest run (or --group): effect, 95% CI, explanation.

    On a terminal, a table; piped or redirected, the same report as Markdown."""
    from core.suites.report import (
        as_judged,
        confidence_note,
        evaluate,
        latest_group,
        markdown,
        results_by_experiment,
    )

    s = _suite(name)
    group_id = group_id or latest_group(name)
    if group_id is None:
        fail([f"no run of suite {name!r} yet; start one with `bnbench suite run {name}`"])
    by_exp = results_by_experiment(group_id)
    verdicts = evaluate(s, group_id, data=by_exp)
    if out and out.endswith(".html"):
        from dashboard.report_html import render

        with open(out, "w") as f:
            f.write(render(s, group_id, verdicts, as_judged(s, group_id, by_exp)))
    elif out:
        with open(out, "w") as f:
            f.write(markdown(s, group_id, verdicts))
    console = Console()
    if not console.is_terminal:  # piped or redirected: Markdown, not a wrapped 80-column table
        click.echo(markdown(s, group_id, verdicts))
        Console(stderr=True).print(confidence_note(verdicts))
        return
    t = Table(title=f"Suite {name}, group {group_id}", title_justify="left", show_lines=True)
    for c in ("experiment", "verdict", "effect [CI]", "seeds", "why"):
        t.add_column(c, overflow="fold")
    for v in verdicts:
        ci = "" if v.ci_low is None else f" [{v.ci_low:+.3f}, {v.ci_high:+.3f}]"
        effect = "-" if v.effect is None else f"{v.effect:+.3f}{ci}"
        seeds = "-" if v.seeds is None else str(v.seeds)
        if v.stopped:
            seeds += f" ({v.stopped})"
        t.add_row(v.experiment, f"[{STYLE[v.verdict]}]{v.verdict}[/]", effect, seeds,
                  escape(v.explanation))  # fmt: skip
    console.print(t)
    Console(stderr=True).print(confidence_note(verdicts))
