"""`bnbench doctor`: check a deployment's settings, database, schema, broker, workers and GPUs,
and say what to fix. Each check returns a Check; the command only renders them."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from core.config import masked, url_password
from core.store.db import database_url, redacted
from core.store.migrate import alembic_config
from core.store.rejections import Rejection, recent_rejections, rejection_count
from core.store.tables import utcnow
from core.store.workers import WorkerRecord, list_workers
from worker.launcher import detect_gpus
from worker.settings import Settings
from worker.summary import other_setting_problems

if TYPE_CHECKING:
    from worker.settings import Settings

OK, WARN, FAIL = "ok", "warn", "fail"
TIMEOUT_S = 3
STYLE = {OK: "green", WARN: "yellow", FAIL: "red"}
DB_URL_FIX = (
    "Set BNBENCH_DATABASE_URL to a URL like postgresql://user:password@host:5432/bnbench "
    "or sqlite:////path/to/bnbench.db."
)


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warn | fail
    detail: str
    fix: str = ""


def skipped(name: str, cause: str) -> Check:
    return Check(name, WARN, f"not checked: the {cause} check failed", f"See the {cause} check.")


def _reason(exc: BaseException) -> str:
    """A driver's error on one line, without SQLAlchemy's SQL and background link."""
    text = str(getattr(exc, "orig", None) or exc) or type(exc).__name__
    return " ".join(text.split())


def check_configuration() -> tuple[Check, Settings | None, str | None]:
    """Parse the settings and the database URL. Also returns the Settings and the database URL
    for the other checks, None where they did not parse."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    lines: list[str] = []
    problems: list[str] = []
    url = settings = None
    try:
        url = database_url()
        make_url(url).get_dialect()
        lines.append(f"database {redacted(url)}")
    except ArgumentError:
        # SQLAlchemy's message quotes the URL, password included.
        problems.append("BNBENCH_DATABASE_URL is not a database URL SQLAlchemy can load")
        url = None
    except ValueError as e:
        problems.append(str(e))
        url = None
    port = os.environ.get("BNBENCH_EMBEDDED_BROKER_PORT", "")
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        problems.append(f"BNBENCH_EMBEDDED_BROKER_PORT={port!r} must be a port number")
    else:
        try:
            settings = Settings.from_env()
        except (ValueError, OverflowError) as e:
            problems.append(str(e))
    if settings is not None:
        how = " (embedded: BNBENCH_BROKER_URL is unset)" if settings.embedded else ""
        lines.append(f"broker   {masked(settings.broker_url)}{how}")
        problems += _missing_tls_files(settings)
    problems += other_setting_problems()
    if not problems:
        return Check("configuration", OK, "\n".join(lines)), settings, url
    names = sorted(set(re.findall(r"BNBENCH_[A-Z_]+", " ".join(problems))))
    fix = (
        f"Set {' and '.join(names)} to a valid value, or unset it for the default."
        if names
        else "Check the BNBENCH_* environment variables."
    )
    if "BNBENCH_DATABASE_URL" in names:
        fix = f"{fix} {DB_URL_FIX}"
    return Check("configuration", FAIL, "\n".join(problems + lines), fix), settings, url


def _missing_tls_files(settings: Settings) -> list[str]:
    files = {
        "BNBENCH_BROKER_CA_FILE": settings.broker_ca_file,
        "BNBENCH_BROKER_CERT_FILE": settings.broker_cert_file,
        "BNBENCH_BROKER_KEY_FILE": settings.broker_key_file,
    }
    return [
        f"{name}={path} is not a readable file"
        for name, path in files.items()
        if path and not os.access(path, os.R_OK)
    ]


@contextmanager
def _connect(url: str) -> Iterator[Any]:
    """A connection with a short connect timeout and no pool, so nothing outlives the check."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    backend = make_url(url).get_backend_name()
    args = {"postgresql": {"connect_timeout": TIMEOUT_S}, "sqlite": {"timeout": TIMEOUT_S}}
    engine = create_engine(url, poolclass=NullPool, connect_args=args.get(backend, {}))
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def check_database(url: str) -> Check:
    """Connect and run one query. A missing SQLite file is reported, never created."""
    from pathlib import Path

    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    u = make_url(url)
    sqlite = u.get_backend_name() == "sqlite"
    if sqlite and u.database not in (None, "", ":memory:"):
        path = Path(u.database).expanduser()
        if not path.exists():
            return Check(
                "database",
                FAIL,
                f"no SQLite file at {path}",
                "Run `bnbench db upgrade` (or `bnbench up`) to create it, or set "
                "BNBENCH_DATABASE_URL to the database your deployment uses.",
            )
    try:
        with _connect(url) as conn:
            # SELECT 1 alone would not open a SQLite file; reading the schema does.
            conn.execute(text("SELECT count(*) FROM sqlite_master" if sqlite else "SELECT 1"))
    except Exception as e:
        return Check(
            "database",
            FAIL,
            f"cannot use {redacted(url)}: {_reason(e)}",
            "Check BNBENCH_DATABASE_URL (host, port, database, user, password) and that the "
            "database server is running and reachable from here.",
        )
    return Check("database", OK, f"connected to {redacted(url)}")


def check_migrations(url: str) -> Check:
    """The database's schema revision against the code's head revision."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(url))
    head = script.get_current_head()
    try:
        with _connect(url) as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except Exception as e:
        return Check(
            "migrations",
            FAIL,
            f"cannot read the schema revision: {_reason(e)}",
            "Check that BNBENCH_DATABASE_URL points at the bnbench database.",
        )
    upgrade = "Run `bnbench db upgrade`."
    if current == head:
        return Check("migrations", OK, f"at head ({head})")
    if current is None:
        return Check("migrations", FAIL, f"no bnbench tables yet (head is {head})", upgrade)
    if current not in {r.revision for r in script.walk_revisions()}:
        return Check(
            "migrations",
            FAIL,
            f"at {current}, a revision this bnbench does not know: a newer version migrated it",
            "Install the bnbench version that migrated this database here.",
        )
    return Check("migrations", FAIL, f"at {current}, behind head ({head})", upgrade)


def check_broker(settings: Settings) -> Check:
    """PING the broker with the workers' TLS options."""
    import redis

    url = settings.broker_url
    shown = masked(url)
    if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        return Check(
            "broker",
            WARN,
            f"{shown}: doctor can only check redis://, rediss:// and unix:// brokers",
            "Check the broker by hand, or set BNBENCH_BROKER_URL to a Redis URL.",
        )
    try:
        client = redis.Redis.from_url(
            url,
            socket_timeout=TIMEOUT_S,
            socket_connect_timeout=TIMEOUT_S,
            **(settings.broker_ssl() or {}),
        )
    except ValueError:
        # redis-py's message may quote the URL, password included.
        return Check(
            "broker",
            FAIL,
            f"{shown} is not a valid Redis URL",
            "Set BNBENCH_BROKER_URL to redis://[:PASSWORD@]host:port/db (or rediss:// for TLS).",
        )
    try:
        client.ping()
    except redis.AuthenticationError as e:
        if url_password(url) is None:
            detail = f"{shown} requires a password and the URL has none ({_reason(e)})"
            fix = "Put the password in BNBENCH_BROKER_URL: redis://:PASSWORD@host:port/db."
        else:
            detail = f"{shown} refused the password: {_reason(e)}"
            fix = (
                "The password (or user) in BNBENCH_BROKER_URL is wrong; "
                "URL-encode special characters in it."
            )
        return Check("broker", FAIL, detail, fix)
    except (redis.ConnectionError, redis.TimeoutError) as e:
        if settings.embedded:
            return Check(
                "broker",
                WARN,
                f"no embedded broker at {shown}; it runs only while `bnbench up` does",
                "Start `bnbench up`, or set BNBENCH_BROKER_URL to your Redis.",
            )
        fix = "Check the host and port in BNBENCH_BROKER_URL and that Redis runs and is reachable."
        if "CERTIFICATE_VERIFY_FAILED" in str(e):
            fix = "Set BNBENCH_BROKER_CA_FILE to the CA certificate that signed the broker's."
        return Check("broker", FAIL, f"cannot reach {shown}: {_reason(e)}", fix)
    except redis.RedisError as e:
        return Check(
            "broker",
            FAIL,
            f"{shown} answered with an error: {_reason(e)}",
            "Check that BNBENCH_BROKER_URL points at a Redis server.",
        )
    finally:
        client.close()
    how = "embedded, " if settings.embedded else ""
    return Check("broker", OK, f"PING answered by {shown} ({how}PONG)")


def check_workers(rows: list[WorkerRecord], stale_after_s: float) -> Check:
    """Stale means no heartbeat within stale_after_s (BNBENCH_STALE_AFTER_S)."""
    if not rows:
        return Check(
            "workers",
            WARN,
            "no workers registered",
            "Start workers with `bnbench worker` on each machine (or `bnbench up` on one).",
        )
    now = utcnow()
    stale = [w for w in rows if not w.is_live(stale_after_s, now)]
    lines = [
        f"{w.name} on {w.host} ({w.gpu_model or 'cpu'}; {','.join(w.queues)}): "
        f"{'live' if w.is_live(stale_after_s, now) else 'stale'}, "
        f"heartbeat {w.heartbeat_age_s(now):.0f}s ago"
        for w in rows
    ]
    if not stale:
        return Check("workers", OK, f"{len(rows)} live\n" + "\n".join(lines))
    hosts = ", ".join(sorted({w.host for w in stale}))
    return Check(
        "workers",
        WARN,
        f"{len(stale)} of {len(rows)} without a heartbeat for over {stale_after_s:g}s\n"
        + "\n".join(lines),
        f"A stale worker crashed or hangs: check its log and restart `bnbench worker` on {hosts} "
        "(it re-registers under the same name).",
    )


REFUSED_WINDOW_S = 24 * 3600


def check_refused(recent: int, newest: list[Rejection]) -> Check:
    """Task messages refused in the last day (rejected_messages)."""
    if not recent:
        return Check("refused messages", OK, "none in the last 24 h")
    lines = [f"{r.received_at[:16].replace('T', ' ')} on {r.queue}: {r.reason[:160]}"
             for r in newest]  # fmt: skip
    return Check(
        "refused messages",
        WARN,
        f"{recent} in the last 24 h; the newest:\n" + "\n".join(lines),
        "A client sends messages bnbench cannot run: see each reason on the Workers page or in "
        "the rejected_messages table, and fix that client.",
    )


def classify_gpus(
    torch_version: str,
    cuda_build: str | None,
    devices: list[str],
    smi_gpus: list[str],
    visible: str | None,
    cuda_warning: str = "",
) -> Check:
    """What torch sees (devices) against what nvidia-smi lists, as a Check."""
    build = f"torch {torch_version}" + (f" (CUDA {cuda_build})" if cuda_build else " (CPU-only)")
    env = f"; CUDA_VISIBLE_DEVICES={visible!r}" if visible is not None else ""
    if devices:
        listed = ", ".join(f"{i}: {name}" for i, name in enumerate(devices))
        return Check("gpu", OK, f"{len(devices)} visible to {build}: {listed}{env}")
    if not smi_gpus:
        return Check(
            "gpu",
            WARN,
            f"no GPU visible to {build}{env}; workers here run CPU jobs only",
            "Nothing to do for CPU workers; for GPU jobs, run `bnbench worker` on a machine "
            "with an NVIDIA GPU and driver.",
        )
    seen = f"nvidia-smi lists {len(smi_gpus)} ({', '.join(smi_gpus)}) but {build} sees none"
    if visible is not None:
        fix = "Unset CUDA_VISIBLE_DEVICES, or set it to the indices of the GPUs to use."
    elif cuda_build is None:
        fix = f"Install a CUDA build of torch {torch_version.split('+')[0]} (see pytorch.org)."
    else:
        fix = f"Install an NVIDIA driver that supports CUDA {cuda_build}, or a matching torch."
    detail = f"{seen}{env}" + (f": {cuda_warning}" if cuda_warning else "")
    return Check("gpu", WARN, detail, fix)


def check_gpu() -> Check:
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return Check(
            "gpu",
            OK,
            "torch is not installed: fine for a dashboard-only install; "
            "workers need `pip install 'bnbench[worker]'`",
        )
    try:
        import torch
    except Exception as e:
        return Check(
            "gpu",
            FAIL,
            f"torch is installed but does not import: {_reason(e)}",
            "Reinstall it: `pip install --force-reinstall 'bnbench[worker]'`.",
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    devices = [torch.cuda.get_device_name(i) for i in range(n)]
    smi: list[str] = []
    if not devices:
        smi = [name for _, name in detect_gpus()]
    return classify_gpus(
        torch.__version__,
        torch.version.cuda,
        devices,
        smi,
        os.environ.get("CUDA_VISIBLE_DEVICES"),
        " ".join(" ".join(str(w.message).split()) for w in caught),
    )


def _secrets(*urls: str | None) -> set[str]:
    found = set()
    for url in urls:
        password = url_password(url) if url else None
        if password:
            found |= {password, unquote(password)}
    return found


def run_checks() -> list[Check]:
    """Every check in order; a check whose prerequisite failed is reported as not checked."""
    config, settings, url = check_configuration()
    checks = [config]
    checks.append(check_database(url) if url else skipped("database", "configuration"))
    db_ok = checks[-1].status == OK
    checks.append(check_migrations(url) if db_ok and url else skipped("migrations", "database"))
    schema_ok = checks[-1].status == OK
    checks.append(check_broker(settings) if settings else skipped("broker", "configuration"))
    if settings is None:
        checks.append(skipped("workers", "configuration"))
    elif not schema_ok:
        checks.append(skipped("workers", "migrations"))
    else:
        try:
            checks.append(check_workers(list_workers(url), settings.stale_after_s))
        except Exception as e:
            fix = "Check that the user in BNBENCH_DATABASE_URL may read the workers table."
            checks.append(Check("workers", FAIL, f"cannot read them: {_reason(e)}", fix))
        try:
            recent = rejection_count(REFUSED_WINDOW_S, url)
            checks.append(check_refused(recent, recent_rejections(3, url) if recent else []))
        except Exception as e:
            fix = "Check that the user in BNBENCH_DATABASE_URL may read rejected_messages."
            checks.append(Check("refused messages", FAIL, f"cannot read them: {_reason(e)}", fix))
    checks.append(check_gpu())
    # Driver messages are not ours to trust with a password.
    hidden = _secrets(url, settings.broker_url if settings else None)
    for i, c in enumerate(checks):
        for secret in hidden:
            c = replace(c, detail=c.detail.replace(secret, "***"), fix=c.fix.replace(secret, "***"))
        checks[i] = c
    return checks


def summary(checks: list[Check]) -> str:
    failed = sum(c.status == FAIL for c in checks)
    warned = sum(c.status == WARN for c in checks)
    warnings_ = f"{warned} warning{'s' * (warned != 1)}"
    if failed:
        return f"{failed} failed, {warnings_}: fix the failed checks, then run this again."
    if warned:
        return f"Nothing failed; {warnings_}: see the fixes above."
    return "All checks passed."
