"""What a starting process tells its operator: where it writes, what it serves, its limits."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console

from core import __version__
from core.config import env_or_file, masked, webhook_url
from core.errors import ConfigError
from core.logs import log_format
from core.spec.limits import Limits
from core.store.db import redacted
from worker.settings import Settings


def other_setting_problems() -> list[str]:
    """What is wrong with the settings read later, by submitters, workers and the dashboard:
    limits, log format, the dashboard password's file, the alert webhook."""
    problems = []
    dashboard_password = lambda: env_or_file("BNBENCH_DASHBOARD_PASSWORD")  # noqa: E731
    for read in (Limits.from_env, log_format, dashboard_password, webhook_url):
        try:
            read()
        except ConfigError as e:
            problems.append(str(e))
    return problems


def checked_settings() -> Settings:
    """The deployment's settings, all of them validated now: a bad value stops the command
    with its name, instead of a worker failing later (or restarting in a loop)."""
    settings = Settings.from_env()
    if problems := other_setting_problems():
        raise ConfigError(problems[0])
    return settings


def deployment_lines(settings: Settings, embedded: bool = False) -> list[tuple[str, str]]:
    """(label, value) rows common to `bnbench up` and `bnbench worker`; no secret in them."""
    limits = Limits.from_env()
    caps = [
        f"epochs <= {limits.max_epochs}" if limits.max_epochs else None,
        f"training samples <= {limits.max_train_samples}" if limits.max_train_samples else None,
    ]
    tls = " (TLS, certificate verified)" if settings.broker_ssl() else ""
    return [
        ("bnbench", __version__),
        ("database", redacted()),
        ("broker", masked(settings.broker_url) + (" (embedded)" if embedded else tls)),
        ("time limit", f"{settings.job_time_limit_s:g} s per job (BNBENCH_JOB_TIME_LIMIT_S)"),
        ("spec limits", ", ".join(c for c in caps if c) or "schema maxima only"),
        (
            "heartbeat",
            f"every {settings.heartbeat_s:g} s, stale after {settings.stale_after_s:g} s",
        ),
        ("logs", f"{log_format()} (BNBENCH_LOG_FORMAT)"),
    ]


def print_summary(
    console: Console,
    title: str,
    settings: Settings,
    workers: list,
    embedded: bool = False,
    extra: Sequence[tuple[str, str]] = (),
) -> None:
    console.print(f"[bold]{title}[/]")
    rows = deployment_lines(settings, embedded)
    rows += [("worker", f"{w.name} on {w.gpu or 'cpu'}, queues {','.join(w.queues)}")
             for w in workers]  # fmt: skip
    for label, value in [*rows, *extra]:
        console.print(f"  {label:<12}{value}", markup=False, highlight=False)
