"""Exceptions the runner raises on purpose, so callers can tell them from bugs."""

from core.errors import FieldError


class Cancelled(Exception):
    """The cooperative cancel check returned True between steps."""


class BenchError(FieldError):
    """A benchmark that cannot run as specified; `field` names the spec field to change."""
