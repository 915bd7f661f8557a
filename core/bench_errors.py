"""Exceptions the runner raises on purpose, so callers can tell them from bugs."""


class Cancelled(Exception):
    """The cooperative cancel check returned True between steps."""


class BenchError(RuntimeError):
    """A benchmark that cannot run as specified; `field` names the spec field to change."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
