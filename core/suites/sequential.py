"""Sequential seeds: an experiment's seeds run in rounds, with a look after each round, and
only the experiments still undecided get the next round, up to the profile's last.

The rule is Bonferroni across looks: a profile plans K looks, and every look tests at
ALPHA / K. Whatever the looks find, the chance that any of them gives a false verdict is at
most K * ALPHA / K = ALPHA, so looking early and stopping cannot inflate it (tests in
tests/core/suites/test_sequential.py check this by simulation). statsmodels has no
group-sequential boundaries (O'Brien-Fleming, Pocock); Bonferroni is the conservative
stand-in and the report names it.

An experiment stops at a look when it is decided, when its design is invalid (more seeds do
not mend a network that did not learn), or at the last look. A fixed design (a measurement,
or an experiment that declares its seeds) is judged once, on the first round.
"""

from __future__ import annotations

import pandas as pd

from core.spec.schema import BenchSpec
from core.store.suite_runs import Stop
from core.suites.model import Experiment, Profile, Suite
from core.suites.stats import ALPHA

DECIDED = ("supported", "not supported", "equivalent", "corrected")
METHOD = "Bonferroni across looks"


def alpha_per_look(looks: int) -> float:
    return ALPHA / looks


def first_seeds(df: pd.DataFrame, seeds: int, at: str | None = None) -> pd.DataFrame:
    """The runs of the first `seeds` seeds that had finished by `at`: what a look saw."""
    if "spec.seed" in df.columns:
        df = df[pd.to_numeric(df["spec.seed"], errors="coerce") < seeds]
    if at is not None and "finished_at" in df.columns and len(df):
        finished = pd.to_datetime(df["finished_at"], utc=True, errors="coerce")
        df = df[finished <= pd.Timestamp(at)]
    return df.reset_index(drop=True)


def chosen(suite: Suite, keys: list[str]) -> list[Experiment]:
    return [e for e in suite.experiments if not keys or e.key in keys]


def look(
    suite: Suite,
    keys: list[str],
    profile: Profile,
    data: dict[str, pd.DataFrame],
    round_no: int,
    stops: dict[str, Stop],
    at: str | None = None,
) -> dict[str, Stop]:
    """After round `round_no` (1-based), the experiments that stop now, added to `stops`.
    An experiment not in the result goes on to the next round."""
    out = dict(stops)
    empty = pd.DataFrame(columns=["arm"])
    for e in chosen(suite, keys):
        if e.key in out:
            continue
        rounds = e.seed_rounds(profile)
        looks = len(rounds)
        if not e.sequential:
            out[e.key] = Stop(1, 1, rounds[0], None, "a fixed design: judged once", at)
            continue
        seeds = rounds[round_no - 1]
        runs = first_seeds(data.get(e.runs_key, empty), seeds)
        verdict = e.analyze(runs, alpha_per_look(looks), explain=False).verdict
        where = f"look {round_no} of {looks}, {seeds} seeds"
        if verdict in DECIDED:
            why = f"decided at {where}"
        elif verdict == "invalid design":
            why = f"invalid design at {where}; more seeds do not mend a design"
        elif round_no >= looks:
            why = f"still {verdict} at the last look ({where})"
        else:
            continue
        out[e.key] = Stop(round_no, looks, seeds, verdict, why, at)
    return out


def next_round(
    suite: Suite, keys: list[str], profile: Profile, round_no: int, stops: dict[str, Stop]
) -> list[tuple[str, BenchSpec]]:
    """(label, spec) of round `round_no + 1`: the new seeds of every experiment's runs that
    an undecided experiment still reads. Empty when all have stopped."""
    going = {e.runs_key for e in chosen(suite, keys) if e.key not in stops}
    out: list[tuple[str, BenchSpec]] = []
    for key in dict.fromkeys(going):
        owner = suite.experiment(key)
        rounds = owner.seed_rounds(profile)
        if round_no < len(rounds):
            out += owner.specs(profile, range(rounds[round_no - 1], rounds[round_no]))
    return out


def close(
    suite: Suite, keys: list[str], round_no: int, looks: int, seeds: int,
    stops: dict[str, Stop], why: str, at: str | None = None,
) -> dict[str, Stop]:  # fmt: skip
    """Stops for every experiment still going when the run ends for another reason."""
    out = dict(stops)
    for e in chosen(suite, keys):
        out.setdefault(e.key, Stop(round_no, looks, seeds, None, why, at))
    return out


def judge(
    e: Experiment, df: pd.DataFrame, stop: Stop | None, looks: int | None = None
) -> tuple[pd.DataFrame, float]:
    """The runs and the level to judge `e` on in a report: those the look it stopped at saw,
    at that look's level; a run still going is judged on what has finished, at the level of
    its planned looks; a run with no plan (older groups) at ALPHA on all its runs."""
    if stop is not None:
        return first_seeds(df, stop.seeds, stop.at), alpha_per_look(stop.looks)
    return df, alpha_per_look(looks) if looks else ALPHA
