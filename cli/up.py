"""`bnbench up`: the whole service on this machine with embedded defaults.

SQLite, the embedded broker (unless BNBENCH_BROKER_URL points at Redis), workers for the
GPUs found (or one CPU worker), and a first demo group: the article's three networks.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import click
from rich.console import Console

from cli.spec_options import fail

DEMO_PRESETS = ("simplenet", "dropoutnet", "net")


def submit_demo() -> tuple[str, list[str]]:
    from core.spec.parse import validate_spec
    from core.spec.presets import preset
    from worker.client import submit

    group = f"demo-article-{time.strftime('%Y%m%d-%H%M%S')}"
    ids = [
        submit(validate_spec({**preset(name), "device": "auto"}), group=group, label=name)
        for name in DEMO_PRESETS
    ]
    return group, ids


def cli_path() -> str:
    """How to type `bnbench` here: the bare name when it is on PATH, else its path."""
    import shutil
    import sys

    mine = Path(sys.argv[0]).resolve() if Path(sys.argv[0]).name == "bnbench" else None
    mine = mine or Path(sys.executable).with_name("bnbench")
    on_path = shutil.which("bnbench")
    if on_path and Path(on_path).resolve() == mine.resolve():
        return "bnbench"
    try:
        return str(mine.relative_to(Path.cwd()))
    except ValueError:
        return str(mine)


def wait_for_workers(names: list[str], timeout_s: float) -> bool:
    from core.store.workers import list_workers

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        live = {w.name.split("@")[0] for w in list_workers()}
        if set(names) <= live:
            return True
        time.sleep(0.5)
    return False


@click.command()
@click.option("--gpus", default="all", show_default=True, help="GPUs to start workers on.")
@click.option(
    "--cpu-workers",
    type=click.IntRange(0),
    default=None,
    help="CPU workers [default: 1 when no GPU is found].",
)
@click.option(
    "--demo/--no-demo",
    default=True,
    show_default=True,
    help="Submit the article's SimpleNet, DropoutNet and Net as a first group.",
)
@click.option(
    "--log-dir", type=click.Path(file_okay=False), help="Worker logs [default: $BNBENCH_HOME/logs]."
)
@click.option(
    "--dashboard/--no-dashboard",
    "with_dashboard",
    default=True,
    show_default=True,
    help="Start the Streamlit dashboard too.",
)
@click.option("--port", type=int, default=8501, show_default=True, help="Dashboard port.")
def up(gpus, cpu_workers, demo, log_dir, with_dashboard, port) -> None:
    """Run bnbench on this machine: database, broker, workers, dashboard, and a demo group."""
    from core.config import DASHBOARD_URL_FILE, bnbench_home
    from core.store.migrate import ensure_schema
    from worker.embedded import EmbeddedBroker, port_is_open
    from worker.launcher import Supervisor, plan_workers, stop_on_signals
    from worker.summary import checked_settings, print_summary

    stop_on_signals()  # from here a hangup stops everything started below, as Ctrl-C does

    try:
        settings = checked_settings()
    except ValueError as e:
        fail([str(e)])
    console = Console()
    broker = None
    if settings.embedded:
        broker_port = int(settings.broker_url.rsplit(":", 1)[1].split("/")[0])
        if port_is_open(broker_port):
            fail(
                [
                    f"port {broker_port} is taken (another `bnbench up`?); stop it, or set "
                    "BNBENCH_EMBEDDED_BROKER_PORT to a free port"
                ]
            )
        broker = EmbeddedBroker(broker_port).start()
    ensure_schema()
    log_dir = log_dir or str(bnbench_home() / "logs")
    env = {**os.environ, "BNBENCH_BROKER_URL": settings.broker_url}
    try:
        plan = plan_workers(gpus, cpu_workers, None, base_env=env)
    except ValueError as e:
        fail([str(e)])
    sup = Supervisor(plan, "info", log_dir, grace_s=settings.stop_grace_s)
    dash, extra, host = None, [], ""
    served = bnbench_home() / DASHBOARD_URL_FILE
    try:
        sup.start()
        if with_dashboard:
            from dashboard.launch import default_host, free_port, start

            host = default_host()
            wanted, port = port, free_port(host, port)
            if port is None:
                fail([f"ports {wanted} to {wanted + 19} on {host} are taken; pass --port "
                      "(make up PORT=...)"])  # fmt: skip
            if port != wanted:
                console.print(f"[yellow]port {wanted} is taken; the dashboard uses {port}[/]")
            dash = start(host, port, log=Path(log_dir) / "dashboard.log", env=env)
        workers_ready = wait_for_workers([w.name for w in plan], 120)
        if dash is not None:
            from dashboard.launch import healthy

            shown = "127.0.0.1" if host == "0.0.0.0" else host
            if healthy(f"http://{shown}:{port}", 60):
                extra = [("dashboard", f"http://{host}:{port}")]
                served.write_text(f"http://{shown}:{port}\n")  # links printed elsewhere
            else:
                extra = [("dashboard", f"did not start; see {Path(log_dir) / 'dashboard.log'}")]
        print_summary(
            console, "bnbench is up", settings, plan, embedded=broker is not None,
            extra=[*extra, ("log files", log_dir)],
        )  # fmt: skip
        if not workers_ready:
            console.print("[yellow]workers are slow to start; see the logs[/]")
        if demo:
            group, ids = submit_demo()
            console.print(
                f"  demo      group {group}: {len(ids)} jobs (SimpleNet, DropoutNet, Net)"
            )
            cli = cli_path()
            console.print(
                f"\nWatch:   {cli} jobs --watch\nCompare: {cli} compare "
                f"--group {group}\nResults: {cli} results --group {group}"
            )
        console.print("\nCtrl-C stops everything.")
        sup.run_forever()
    finally:
        served.unlink(missing_ok=True)
        if dash is not None:
            import signal

            os.killpg(dash.pid, signal.SIGTERM)
            dash.wait(20)
        sup.stop()
        if broker is not None:
            broker.stop()
