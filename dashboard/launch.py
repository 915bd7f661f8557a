"""`bnbench dashboard`: start the Streamlit app, on localhost unless login is configured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from core.config import env_or_file
from core.errors import ConfigError
from dashboard.auth_config import oidc_complete, oidc_problems

APP = Path(__file__).resolve().parent / "app.py"


def auth_configured() -> bool:
    """A password, or a complete OIDC section: what the app's login gate also requires."""
    return bool(env_or_file("BNBENCH_DASHBOARD_PASSWORD")) or oidc_complete()


def command(host: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.address", host, "--server.port", str(port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal",
    ]  # fmt: skip


def default_host() -> str:
    """Open to the network only behind a login; otherwise this machine only."""
    return "0.0.0.0" if auth_configured() else "127.0.0.1"


def free_port(host: str, port: int, tries: int = 20) -> int | None:
    """`port`, or the next one up that nothing on `host` is bound to; None if all are taken."""
    import socket

    for candidate in range(port, port + tries):
        with socket.socket() as s:
            try:
                s.bind((host, candidate))
            except OSError:
                continue
        return candidate
    return None


def healthy(base_url: str, timeout_s: float) -> bool:
    """True once the Streamlit server at base_url answers its health check."""
    import time
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as r:
                if r.read() == b"ok":
                    return True
        except OSError:
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.3)


def start(
    host: str | None = None,
    port: int = 8501,
    log: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """The dashboard as a child process in its own session, so it stops whole."""
    out = open(log, "ab") if log else None  # noqa: SIM115
    return subprocess.Popen(
        command(host or default_host(), port),
        stdout=out,
        stderr=subprocess.STDOUT if out else None,
        env=env,
        start_new_session=True,
    )


@click.command()
@click.option(
    "--host",
    default=None,
    help="Address to bind [default: 127.0.0.1, or 0.0.0.0 when login is configured].",
)
@click.option("--port", type=int, default=8501, show_default=True)
@click.option(
    "--insecure",
    is_flag=True,
    help="Allow a network address with no login (anyone who reaches the port can submit).",
)
def dashboard(host: str | None, port: int, insecure: bool) -> None:
    """Start the dashboard (Submit, Jobs, Compare, Claims, Layers, Workers)."""
    try:
        host = host or default_host()
        locked = auth_configured()
    except ConfigError as e:  # an unreadable or empty password file
        click.echo(f"error: {e}", err=True)
        raise SystemExit(2) from None
    for problem in oidc_problems():
        click.echo(f"warning: {problem}; OIDC login is off until it is fixed", err=True)
    if host not in ("127.0.0.1", "localhost", "::1") and not locked and not insecure:
        click.echo(
            f"error: --host {host} with no login; set BNBENCH_DASHBOARD_PASSWORD or configure "
            "[auth] in .streamlit/secrets.toml, or pass --insecure",
            err=True,
        )
        raise SystemExit(2)
    click.echo(f"dashboard on http://{host}:{port}")
    cmd = command(host, port)
    os.execv(cmd[0], cmd)  # Streamlit takes this process's place: signals reach it directly
