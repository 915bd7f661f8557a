"""Queue commands: submit, jobs, cancel, retry, workers, worker."""

from __future__ import annotations

import time

import click
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.spec_options import SpecCommand, fail, spec_from_input, spec_input
from cli.tables import count, format_option
from core.errors import ConfigError
from core.spec.parse import SpecError

FINAL = ("succeeded", "failed", "cancelled")
STATUS_STYLE = {
    "queued": "yellow",
    "running": "cyan",
    "succeeded": "green",
    "failed": "red",
    "cancelled": "magenta",
}


@click.command(cls=SpecCommand)
@spec_input(exclude=frozenset({"repeats"}))  # --repeats once meant seeds here: refused below
@click.option(
    "--grid",
    multiple=True,
    metavar="FIELD=V1,V2",
    help="Sweep a field over values; repeatable; the cross product is one group.",
)
@click.option(
    "--seeds",
    "repeats",
    type=click.IntRange(1, 100),
    default=1,
    show_default=True,
    help="Run each spec with this many seeds: seed, seed+1, ...",
)
@click.option("--repeats", "old_repeats", type=int, default=None, hidden=True)
@click.option(
    "--queue",
    help="Queue to send to (default: by device: cpu, gpu, or "
    "gpu.<model> when the spec's --gpu-model is set).",
)
@click.option("--priority", type=click.IntRange(0, 9), default=None, help="0 to 9; 9 first.")
@click.option("--label", help="Label stored with the jobs.")
@click.option("--group", "group_id", help="Group id (default: a new one for sweeps).")
@click.option(
    "--reuse",
    is_flag=True,
    help="Return an existing result for an identical spec on the same device class.",
)
@click.option("--wait", is_flag=True, help="Show progress until every job has finished.")
def submit(
    spec_file,
    preset_name,
    overrides,
    grid,
    repeats,
    queue,
    priority,
    label,
    group_id,
    reuse,
    wait,
    old_repeats,
    **fields,
) -> None:
    """Queue SPEC_FILE (or a preset, flags, a grid) for the workers. Prints the job ids.

    All or nothing: every spec is checked and the broker PINGed before any job is recorded."""
    from worker.client import BrokerUnavailable, NotSentYet, parse_grid, submit_grid

    if old_repeats is not None:
        n = old_repeats
        fail([f"--repeats: submit's seeds option is now --seeds (--seeds {n}); the spec's "
              f"timed rounds, which `run --repeats` sets, are --set repeats={n}"])  # fmt: skip
    err = Console(stderr=True)
    try:
        base = spec_from_input(spec_file, preset_name, overrides, fields)
        group_id, ids = submit_grid(
            base, parse_grid(grid, "--grid"), repeats, group_id,
            queue=queue, priority=priority, label=label, reuse=reuse,
        )  # fmt: skip
    except SpecError as e:
        fail(e.lines())
    except BrokerUnavailable as e:
        fail([str(e)], code=1)
    except NotSentYet as e:
        ids, wait, group_id = e.ids, False, e.group
        err.print(f"[yellow]warning:[/] {escape(str(e))}")
    except ConfigError as e:
        fail([f"{e}; `bnbench doctor` checks every setting"])
    if group_id:
        err.print(f"group [bold]{escape(group_id)}[/]: {count(len(ids), 'job')}")
    for job_id in ids:
        click.echo(job_id)
    warn_unserved(ids, err)
    if wait:
        statuses = wait_for(ids, err)
        if any(s != "succeeded" for s in statuses.values()):
            raise SystemExit(1)


def warn_unserved(ids: list[str], console: Console) -> None:
    """A warning for each queue of these jobs, still queued, that no live worker consumes."""
    from core.store.read import ResultFilter, query_records

    recs = query_records(ResultFilter(job_ids=tuple(ids), status=("queued",)), spec=False)
    print_unserved({r["queue"] for r in recs}, console)


def print_unserved(queues: set[str], console: Console) -> None:
    from worker.client import unserved_warnings

    for line in unserved_warnings(queues):
        console.print(f"[yellow]warning:[/] {escape(line)}")


def wait_for(ids: list[str], console: Console, poll_s: float = 1.0) -> dict[str, str]:
    """A progress display until every job is final; returns each job's status."""
    from core.store.read import ResultFilter, query_records
    from core.store.workers import unserved_queues
    from worker.settings import Settings

    stale = Settings.from_env().stale_after_s
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        overall = bar.add_task("jobs", total=len(ids), detail="")
        while True:
            recs = query_records(ResultFilter(job_ids=tuple(ids)), spec=False)
            statuses = {r["job_id"]: r["status"] for r in recs}
            done = sum(s in FINAL for s in statuses.values())
            progress = sum(1.0 if r["status"] in FINAL else (r["progress"] or 0) for r in recs)
            counts = {s: list(statuses.values()).count(s) for s in STATUS_STYLE}
            detail = " ".join(f"{k} {v}" for k, v in counts.items() if v)
            waiting = {r["queue"] for r in recs if r["status"] == "queued"}
            if idle := unserved_queues(waiting, stale):
                detail += f" [red]no live worker for {escape(', '.join(idle))}[/]"
            bar.update(overall, completed=progress, detail=detail)
            if done == len(ids):
                return statuses
            time.sleep(poll_s)


def job_table(
    limit: int,
    status: tuple[str, ...],
    group: str | None,
    label: str | None,
    tags: tuple[str, ...] = (),
) -> tuple[list, list[dict[str, str]]]:
    """Columns and rows of the jobs table, newest first."""
    from datetime import UTC, datetime

    from cli.tables import Column
    from core.store.read import ResultFilter, query_records

    recs = query_records(
        ResultFilter(status=status, group_id=group, label=label, tags=tags), limit=limit
    )
    columns = [Column("job", "job", 0), Column("status", "status", 0),
               Column("progress", "progress", 1, justify="right"),
               Column("error", "error", 1, max_width=60), Column("epoch", "epoch", 2),
               Column("duration", "duration", 2, justify="right"),
               Column("label", "label", 3, max_width=24), Column("tags", "tags", 3, max_width=24),
               Column("queue", "queue", 4),
               Column("worker", "worker", 5, max_width=30)]  # fmt: skip
    rows = []
    for r in recs:
        st, epochs = r["status"], r.get("spec.epochs")
        start, end = r["started_at"], r["finished_at"]
        secs = ((end or datetime.now(UTC)) - start).total_seconds() if start else None
        done = 1.0 if st == "succeeded" else (r["progress"] or 0.0)
        epoch = epochs if st == "succeeded" else r.get("progress_epoch")
        rows.append({
            "job": r["job_id"][:8], "status": st, "progress": f"{100 * done:.0f}%",
            "epoch": f"{epoch}/{epochs}" if epoch is not None and epochs else "-",
            "duration": "-" if secs is None else f"{secs:.1f}s", "queue": r["queue"],
            "worker": r["worker"] or "-", "label": r["label"] or "", "tags": r["tags"],
            "error": " ".join((r["error_message"] or "").split()),
        })  # fmt: skip
    return columns, rows


@click.command()
@click.option("--status", multiple=True, type=click.Choice(list(STATUS_STYLE)))
@click.option("--group", help="Only this group.")
@click.option("--label", help="Only this label.")
@click.option("--tag", "tags", multiple=True, help="Only jobs with this tag; repeatable: all.")
@click.option("--limit", type=click.IntRange(1), default=30, show_default=True)
@click.option("--watch", is_flag=True, help="Refresh until Ctrl-C (piped: a table every 2 s).")
@format_option
def jobs(status, group, label, tags, limit, watch, fmt) -> None:
    """The queue: status, progress, worker, duration and errors of recent jobs."""
    from cli.tables import emit, fit, rich_table
    from core.store.jobs import queues_with_queued_jobs

    console = Console()
    styles = {"status": lambda s: STATUS_STYLE.get(s, "")}

    def render() -> None:
        columns, rows = job_table(limit, status, group, label, tags)
        emit(columns, rows, count(len(rows), "most recent job"), fmt, console, styles)
        if fmt in ("table", "markdown"):
            print_unserved(queues_with_queued_jobs(), console)

    if not watch:
        render()
        return
    try:
        if not console.is_terminal or fmt != "table":  # piped: a new table each time
            while True:
                render()
                console.file.flush()
                time.sleep(2)
        with Live(console=console, refresh_per_second=2, screen=False) as live:
            while True:
                columns, rows = job_table(limit, status, group, label, tags)
                table = rich_table(fit(columns, rows, console.width), rows, styles,
                                   count(len(rows), "most recent job"))  # fmt: skip
                live.update(Group(table, "[dim]Ctrl-C to stop watching[/]"))
                time.sleep(1)
    except KeyboardInterrupt:
        pass


def _resolve(job_ids: tuple[str, ...]) -> list[str]:
    from core.store.read import JobNotFound, resolve_job_id

    try:
        return [resolve_job_id(j) for j in job_ids]
    except JobNotFound as e:
        fail([str(e)])
        raise


@click.command()
@click.argument("job_ids", nargs=-1, required=True)
def cancel(job_ids) -> None:
    """Cancel queued jobs at once; ask running ones to stop (terminated after a grace period).

    Exits 1 when a job had already finished: there was nothing to cancel."""
    from core.store.jobs import Cancel
    from worker.client import cancel as cancel_one

    finished = []
    for job_id in _resolve(job_ids):
        state = cancel_one(job_id)
        if state in (Cancel.SUCCEEDED, Cancel.FAILED):
            finished.append(f"{job_id[:8]} had already {state}; nothing to cancel")
        elif state is Cancel.WAS_CANCELLED:
            finished.append(f"{job_id[:8]} was already cancelled; nothing to cancel")
        else:
            click.echo(f"{job_id[:8]} {state}")
    if finished:
        fail(finished, code=1)


@click.command()
@click.argument("job_ids", nargs=-1, required=True)
def retry(job_ids) -> None:
    """Queue a new attempt of failed or cancelled jobs."""
    from core.store.jobs import not_retryable
    from worker.client import BrokerUnavailable
    from worker.client import retry as retry_one

    bad = []
    for job_id in _resolve(job_ids):
        try:
            retried = retry_one(job_id)  # PINGs the broker first, before anything changes
        except BrokerUnavailable as e:
            fail([str(e)], code=1)
        if retried:
            click.echo(f"{job_id[:8]} queued again")
        else:
            bad.append(not_retryable(job_id) or f"{job_id[:8]} could not be retried")
    if bad:
        fail(bad)


@click.command()
@click.option(
    "--stale-after",
    type=float,
    default=None,
    help="Seconds without heartbeat before a worker counts as stale "
    "[default: BNBENCH_STALE_AFTER_S].",
)
@format_option
def workers(stale_after, fmt) -> None:
    """The fleet: host, GPU, queues, heartbeat age and current job of every worker."""
    from cli.tables import Column, emit
    from core.store.tables import utcnow
    from core.store.workers import list_workers
    from worker.settings import Settings

    limit = stale_after or Settings.from_env().stale_after_s
    workers_ = list_workers()
    if not workers_ and fmt in ("table", "markdown"):
        Console().print("No workers registered. Start some with `bnbench worker` or `bnbench up`.")
        return
    columns = [Column("name", "name", 0), Column("state", "state", 0),
               Column("heartbeat", "heartbeat", 1), Column("current job", "current job", 1),
               Column("queues", "queues", 2, max_width=40), Column("gpu", "gpu", 2),
               Column("host", "host", 3, max_width=30)]  # fmt: skip
    now = utcnow()
    rows = [{
        "name": w.name, "state": "live" if w.is_live(limit, now) else "stale", "host": w.host,
        "gpu": w.gpu_model or "cpu", "queues": ",".join(w.queues),
        "heartbeat": f"{w.heartbeat_age_s(now):.0f}s ago",
        "current job": (w.current_job_id or "-")[:8],
    } for w in workers_]  # fmt: skip
    styles = {"state": lambda v: "green" if v == "live" else "red"}
    emit(columns, rows, count(len(rows), "worker"), fmt, Console(), styles)
    if fmt in ("table", "markdown"):
        _print_refused()


def _print_refused() -> None:
    from core.store.rejections import recent_rejections, rejection_count

    recent = rejection_count(24 * 3600)
    if not recent:
        return
    newest = recent_rejections(1)[0]
    Console().print(
        f"[yellow]{recent} task messages refused in the last 24 h[/]; the newest, on "
        f"{escape(str(newest.queue))}: {escape(newest.reason[:200])}\n"
        "All of them: the Workers page, or SELECT * FROM rejected_messages."
    )


@click.command()
@click.option(
    "--gpus",
    default="all",
    show_default=True,
    help="all, none, or GPU indices like 0,1: one worker process per GPU.",
)
@click.option(
    "--cpu-workers",
    type=click.IntRange(0),
    default=None,
    help="CPU worker processes [default: 1 when no GPU worker runs, else 0].",
)
@click.option("--queues", help="Comma-separated queues to consume instead of the defaults.")
@click.option("--loglevel", default="info", show_default=True)
@click.option("--log-dir", type=click.Path(file_okay=False), help="Write one log per worker.")
def worker(gpus, cpu_workers, queues, loglevel, log_dir) -> None:
    """Start workers on this machine and supervise them until Ctrl-C."""
    from core.logs import configure
    from core.store.migrate import ensure_schema
    from worker.launcher import Supervisor, plan_workers
    from worker.summary import checked_settings, print_summary

    try:
        settings = checked_settings()
        plan = plan_workers(gpus, cpu_workers, queues.split(",") if queues else None)
    except ValueError as e:
        fail([str(e)])
    if not plan:
        fail(["no workers to start: no GPU found and --cpu-workers 0"])
    ensure_schema()
    configure(loglevel)  # the supervisor's own records, in the workers' format
    extra = [("log files", log_dir)] if log_dir else []
    sup = Supervisor(plan, loglevel, log_dir, grace_s=settings.stop_grace_s)
    sup.claim_names()
    print_summary(Console(), "bnbench worker", settings, plan, extra=extra)
    sup.start()
    sup.run_forever()
