"""What a starting process tells its operator: where it writes, what it serves, its limits."""

from __future__ import annotations

from core import __version__
from core.config import masked
from core.db import redacted
from core.limits import Limits
from core.logs import log_format
from worker.settings import Settings


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
