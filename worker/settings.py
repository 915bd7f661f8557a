"""Deployment settings of the queue, read from the environment once per process."""

from __future__ import annotations

import math
import os
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from core.config import check_unambiguous, env_or_file
from core.errors import ConfigError

EMBEDDED_BROKER_PORT = 6390


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} must be a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name}={raw!r} must be a positive, finite number")
    return value


@dataclass(frozen=True)
class Settings:
    broker_url: str
    embedded: bool
    job_time_limit_s: float
    heartbeat_s: float
    stale_after_s: float
    reconcile_every_s: float
    requeue_after_s: float
    max_attempts: int
    cancel_grace_s: float
    default_queue: str
    stop_grace_s: float = 90.0
    regression_check_s: float = 600.0
    broker_ca_file: str | None = None
    broker_cert_file: str | None = None
    broker_key_file: str | None = None

    @property
    def hard_time_limit_s(self) -> float:
        """The pool child is killed here: the soft limit plus a grace to record the failure,
        60 s, or the soft limit itself when that is shorter."""
        return self.job_time_limit_s + min(60.0, self.job_time_limit_s)

    def broker_ssl(self) -> dict | None:
        """kombu's TLS options for a rediss:// broker: certificates are always verified
        (kombu alone would accept any certificate, with a warning)."""
        if not self.broker_url.startswith("rediss://"):
            return None
        opts: dict = {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_check_hostname": True}
        for key, path in (("ssl_ca_certs", self.broker_ca_file),
                          ("ssl_certfile", self.broker_cert_file),
                          ("ssl_keyfile", self.broker_key_file)):  # fmt: skip
            if path:
                opts[key] = path
        return opts

    @classmethod
    def from_env(cls) -> Settings:
        url = env_or_file("BNBENCH_BROKER_URL") or ""
        if url:
            check_unambiguous("BNBENCH_BROKER_URL", url, urlsplit(url).password)
        raw_port = os.environ.get("BNBENCH_EMBEDDED_BROKER_PORT") or str(EMBEDDED_BROKER_PORT)
        if not (raw_port.isdigit() and 0 < int(raw_port) < 65536):
            raise ConfigError(f"BNBENCH_EMBEDDED_BROKER_PORT={raw_port!r} must be a port number")
        port = int(raw_port)
        return cls(
            broker_url=url or f"redis://127.0.0.1:{port}/0",
            embedded=not url,
            job_time_limit_s=_float("BNBENCH_JOB_TIME_LIMIT_S", 6 * 3600),
            heartbeat_s=_float("BNBENCH_HEARTBEAT_S", 5),
            stale_after_s=_float("BNBENCH_STALE_AFTER_S", 45),
            reconcile_every_s=_float("BNBENCH_RECONCILE_EVERY_S", 15),
            requeue_after_s=_float("BNBENCH_REQUEUE_AFTER_S", 60),
            max_attempts=int(_float("BNBENCH_MAX_ATTEMPTS", 3)),
            cancel_grace_s=_float("BNBENCH_CANCEL_GRACE_S", 30),
            default_queue=os.environ.get("BNBENCH_DEFAULT_QUEUE", "cpu"),
            stop_grace_s=_float("BNBENCH_STOP_GRACE_S", 90),
            regression_check_s=_float("BNBENCH_REGRESSION_CHECK_S", 600),
            broker_ca_file=os.environ.get("BNBENCH_BROKER_CA_FILE") or None,
            broker_cert_file=os.environ.get("BNBENCH_BROKER_CERT_FILE") or None,
            broker_key_file=os.environ.get("BNBENCH_BROKER_KEY_FILE") or None,
        )
