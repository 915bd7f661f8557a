"""A verdict: what the evidence says about one claim, and everything needed to check it."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict

VerdictName = Literal[
    "supported", "not supported", "equivalent", "corrected", "inconclusive", "invalid design"
]
VERDICTS: tuple[str, ...] = get_args(VerdictName)


class Verdict(BaseModel):
    """What the evidence says about one claim."""

    model_config = ConfigDict(frozen=True)

    experiment: str
    claim: str
    verdict: VerdictName
    effect_name: str
    effect: float | None
    ci_low: float | None
    ci_high: float | None
    n: int  # seeds compared (paired), or the smaller arm's runs
    explanation: str
    claim_type: str = "measurement"  # superiority, equivalence, non-inferiority, measurement
    margin: float | None = None
    method: str | None = None  # the test, its n, and the library function
    mde: float | None = None  # minimum detectable effect of the design
    failed_check: str | None = None  # the guard that made the design invalid
    alpha: float = 0.05  # the level it was tested at (0.05 split over a sequential run's looks)
    seeds: int | None = None  # seeds its runs had when it stopped
    stopped: str | None = None  # why its seeds stopped there (sequential runs)
