"""Settings that may be secrets: read from the environment, or from a file the environment
names (`NAME_FILE`, as Docker and Kubernetes mount secrets), never from the repository."""

from __future__ import annotations

import os
from pathlib import Path


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the variable and the fix."""


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
    return text.removesuffix("\n").removesuffix("\r") or None
