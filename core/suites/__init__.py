"""Named suites of experiments; each turns measurements into verdicts on claims."""

from __future__ import annotations

import importlib
import os

from core.suites.article import ARTICLE
from core.suites.model import PROFILES, Experiment, Profile, Suite
from core.suites.papers import PAPERS
from core.suites.throughput import THROUGHPUT


class SuiteImportError(ValueError):
    """A suite named in BNBENCH_SUITES that cannot be loaded; the message says which and why."""


def _extra_suites() -> list[Suite]:
    """The suites BNBENCH_SUITES names, as comma-separated `module:attribute` references.
    Workers, the CLI and the dashboard must share the setting to judge the same suites."""
    out = []
    for ref in filter(None, (r.strip() for r in os.environ.get("BNBENCH_SUITES", "").split(","))):
        module, _, attr = ref.partition(":")
        try:
            suite = getattr(importlib.import_module(module), attr or "SUITE")
        except (ImportError, AttributeError) as e:
            raise SuiteImportError(
                f"BNBENCH_SUITES: cannot load {ref!r} ({e}); write module:attribute, with the "
                "module importable where the worker runs"
            ) from e
        if not isinstance(suite, Suite):
            raise SuiteImportError(f"BNBENCH_SUITES: {ref!r} is a {type(suite).__name__}, "
                                   "not a core.suites.Suite")  # fmt: skip
        out.append(suite)
    return out


def suites() -> dict[str, Suite]:
    """The registry, loaded lazily so light consumers import no experiment code: the built-in
    suites, then any that BNBENCH_SUITES adds."""
    return {s.name: s for s in (ARTICLE, PAPERS, THROUGHPUT, *_extra_suites())}


__all__ = ["PROFILES", "Experiment", "Profile", "Suite", "SuiteImportError", "suites"]
