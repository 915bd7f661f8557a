"""Settings that may be secrets: read from the environment, or from a file the environment
names (`NAME_FILE`, as Docker and Kubernetes mount secrets), never from the repository."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from core.errors import ConfigError


def env_or_file(name: str) -> str | None:
    """`$NAME`, else the contents of the file `$NAME_FILE` (one trailing newline dropped)."""
    value = os.environ.get(name)
    if value:
        return value
    path = os.environ.get(f"{name}_FILE")
    if not path:
        return None
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise ConfigError(f"{name}_FILE={path}: cannot read it ({e.strerror}); fix the path") from e
    value = text.removesuffix("\n").removesuffix("\r")
    if not value:
        raise ConfigError(f"{name}_FILE={path} is empty; put the value in it, or unset {name}_FILE")
    return value


def _split_userinfo(url: str) -> tuple[str, str, str] | None:
    """(scheme://, userinfo, @host...) of a URL with credentials, else None. The last '@'
    ends the userinfo, so a password may hold '/', '?', '#' or '@' unencoded."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    userinfo, at, host = rest.rpartition("@")
    if not at:
        return None
    return scheme + sep, userinfo, at + host


def url_password(url: str) -> str | None:
    """The password in `url`, as written (None when there is none)."""
    parts = _split_userinfo(url)
    if parts is None or ":" not in parts[1]:
        return None
    return parts[1].split(":", 1)[1] or None


def masked(url: str) -> str:
    """`url` with its password replaced by ***, for output and logs."""
    parts = _split_userinfo(url)
    if parts is None or ":" not in parts[1]:
        return url
    scheme, userinfo, host = parts
    return f"{scheme}{userinfo.split(':', 1)[0]}:***{host}"


def check_unambiguous(name: str, url: str, library_password: str | None) -> None:
    """Refuse a URL whose password the drivers would read differently from us: an unencoded
    '@', '/', '?' or '#' moves the split, and their errors then quote part of the password."""
    from urllib.parse import unquote

    ours = url_password(url)
    if ours is not None and unquote(ours) != (library_password or ""):
        raise ConfigError(
            f"{name}: the password holds a character that must be percent-encoded "
            '(@ / ? # :); encode it, e.g. python3 -c "import sys, urllib.parse; '
            "print(urllib.parse.quote(sys.argv[1], safe=''))\" 'PASSWORD'"
        )


def webhook_url() -> str | None:
    """BNBENCH_ALERT_WEBHOOK (or BNBENCH_ALERT_WEBHOOK_FILE), checked; None when unset."""
    url = env_or_file("BNBENCH_ALERT_WEBHOOK")
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"BNBENCH_ALERT_WEBHOOK={masked(url)!r} is not an http(s) URL; set it to the URL "
            "that receives the JSON POST, such as a Slack or Teams incoming webhook"
        )
    return url


def simulated_gpu_model() -> str | None:
    """BNBENCH_SIMULATED_GPU_MODEL, for tests only: a CPU worker standing in for a GPU model,
    in its registration and in its results' provenance alike."""
    return os.environ.get("BNBENCH_SIMULATED_GPU_MODEL") or None


def bnbench_home() -> Path:
    return Path(os.environ.get("BNBENCH_HOME", Path.home() / ".bnbench")).expanduser()


DASHBOARD_URL_FILE = "dashboard_url"  # under BNBENCH_HOME, while `bnbench up` serves one


def dashboard_url() -> str:
    """Where people open the dashboard, for links printed elsewhere: BNBENCH_DASHBOARD_URL,
    else the address of the dashboard a running `bnbench up` serves (it may have moved off a
    taken port), else http://localhost:8501."""
    if url := os.environ.get("BNBENCH_DASHBOARD_URL"):
        return url
    try:
        served = (bnbench_home() / DASHBOARD_URL_FILE).read_text().strip()
    except OSError:
        served = ""
    return served or "http://localhost:8501"
