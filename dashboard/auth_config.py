"""Whether the dashboard has a complete OIDC login, read from the secrets files themselves.

`bnbench dashboard` binds the network only behind a login, and the app shows its pages only
to a logged-in user, so both must agree on what counts as configured. A string match on
"[auth]" counted a commented-out section, and the app, seeing none, showed every page to
the network. Here the files are parsed as TOML, and [auth] counts only when it holds every
setting st.login() needs for its default provider.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

# st.login() without a provider reads these from [auth] (docs.streamlit.io, st.login).
OIDC_KEYS = ("redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url")


def secrets_files() -> list[Path]:
    """Where Streamlit reads secrets, in its order: the user's, then the project's."""
    return [Path.home() / ".streamlit" / "secrets.toml", Path.cwd() / ".streamlit" / "secrets.toml"]


def auth_section(files: list[Path] | None = None) -> tuple[dict[str, Any] | None, list[str]]:
    """The merged [auth] table (None when no file has one) and the files that did not parse."""
    merged: dict[str, Any] | None = None
    unreadable = []
    for path in files if files is not None else secrets_files():
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            unreadable.append(f"{path}: {e}")
            continue
        if isinstance(data.get("auth"), dict):
            merged = {**(merged or {}), **data["auth"]}
    return merged, unreadable


def oidc_problems(files: list[Path] | None = None) -> list[str]:
    """What keeps the [auth] section from being a working login; empty when it is one, or
    when there is no [auth] at all (see oidc_complete)."""
    auth, unreadable = auth_section(files)
    problems = [f"could not read {u}" for u in unreadable]
    if auth is not None:
        missing = [k for k in OIDC_KEYS if not (isinstance(auth.get(k), str) and auth[k].strip())]
        if missing:
            problems.append(f"[auth] in secrets.toml lacks {', '.join(missing)}")
    return problems


def oidc_complete(files: list[Path] | None = None) -> bool:
    auth, _ = auth_section(files)
    return auth is not None and not oidc_problems(files)
