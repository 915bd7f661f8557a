"""Regressions POSTed to BNBENCH_ALERT_WEBHOOK as one JSON summary, each regression once.

Whoever finds a regression first (a worker's reconciler pass, or `bnbench regressions
--notify`) claims it with a row in regression_alerts; the others find the row and stay quiet.
A POST that fails gives its claims back, so the next pass tries again.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any

from sqlalchemy import delete, tuple_
from sqlalchemy.exc import IntegrityError

from core.config import dashboard_url, masked
from core.history import Verdict, compare_link
from core.store.db import session_scope
from core.store.tables import RegressionAlert, utcnow

log = logging.getLogger("bnbench.alerts")
TIMEOUT_S = 10.0


def summary(found: list[Verdict]) -> dict[str, Any]:
    """The JSON body: one entry per regression, and a line a chat client can show."""
    items = [
        {
            "series": v.series,
            "repeat_key": v.repeat_key,
            "metric": v.metric,
            "change": round(v.change, 4),
            "ci_of_ratio": list(v.ci) if v.ci else None,
            "p_value": v.p_value,
            "baseline": {
                "set": v.baseline.key,
                "n": v.baseline.n,
                "median": v.baseline.median,
                "job_ids": list(v.baseline.job_ids),
                "pinned": v.pinned,
            },
            "contender": {
                "set": v.contender.key,
                "n": v.contender.n,
                "median": v.contender.median,
                "job_ids": list(v.contender.job_ids),
            },
            "changed": {k: list(pair) for k, pair in v.changed.items()},
            "noisy": v.noisy,
            "link": compare_link(v, dashboard_url()),
        }
        for v in found
    ]
    worst = min(found, key=lambda v: v.change)
    text = (
        f"bnbench: {len(found)} regression{'s' if len(found) != 1 else ''}; the worst, "
        f"{worst.metric} of spec {worst.repeat_key[:8]}, {worst.change:+.1%}"
    )
    return {"text": text, "regressions": items}


def _claim(v: Verdict, url: str | None) -> bool:
    try:
        with session_scope(url) as s:
            s.add(RegressionAlert(series=v.series, contender=v.contender.key, sent_at=utcnow()))
        return True
    except IntegrityError:  # announced already, by this process or another
        return False


def announce(verdicts: list[Verdict], webhook: str, url: str | None = None) -> list[Verdict]:
    """POST the regressions among `verdicts` not announced before; returns those sent."""
    fresh = [v for v in verdicts if v.status == "regression" and _claim(v, url)]
    if not fresh:
        return []
    request = urllib.request.Request(
        webhook,
        data=json.dumps(summary(fresh), default=str).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            response.read()
    except (urllib.error.URLError, OSError) as e:
        keys = [(v.series, v.contender.key) for v in fresh]
        with session_scope(url) as s:
            s.execute(
                delete(RegressionAlert).where(
                    tuple_(RegressionAlert.series, RegressionAlert.contender).in_(keys)
                )
            )
        log.warning("could not POST %d regressions to %s (%s); the next pass tries again",
                    len(fresh), masked(webhook), e)  # fmt: skip
        return []
    return fresh
