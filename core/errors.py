"""The errors bnbench raises on purpose, each naming what to change.

A caller tells them from bugs by class: one wrong field (FieldError), several at once
(FieldErrors), or a deployment setting (ConfigError). The subclasses elsewhere only say
where the fault was found, which a failed job records as its error_type.
"""

from __future__ import annotations


class FieldError(ValueError):
    """One field is wrong: `field` names it, `message` says the fix."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class FieldErrors(ValueError):
    """Several fields are wrong: `problems` holds one (field, message) pair per fault."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))

    def lines(self) -> list[str]:
        return [f"{f}: {m}" for f, m in self.problems]


class ConfigError(ValueError):
    """A deployment setting that cannot be used; the message names the variable and the fix."""
