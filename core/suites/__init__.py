"""Named suites of experiments; each turns measurements into verdicts on claims."""

from __future__ import annotations

from core.suites.model import PROFILES, Experiment, Profile, Suite


def suites() -> dict[str, Suite]:
    """The registry, loaded lazily so light consumers import no experiment code."""
    from core.suites.article import ARTICLE
    from core.suites.papers import PAPERS
    from core.suites.throughput import THROUGHPUT

    return {s.name: s for s in (ARTICLE, PAPERS, THROUGHPUT)}


__all__ = ["PROFILES", "Experiment", "Profile", "Suite", "suites"]
