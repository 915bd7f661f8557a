"""Sequential seeds: a look after each round, more seeds only while undecided, and a rule
(Bonferroni across looks) that keeps repeated looks from inflating false verdicts."""

import numpy as np
import pandas as pd
import pytest

from core.suites import PROFILES, Experiment, Suite
from core.suites.claims import Superiority
from core.suites.guards import Learned
from core.suites.sequential import (
    Stop,
    alpha_per_look,
    close,
    first_seeds,
    judge,
    look,
    next_round,
)
from core.suites.stats import ALPHA, paired
from tests.core.suites.rows import rows

CI = PROFILES["ci"]  # seed rounds (2, 4): two looks, each at 0.025

ARMS = {"a": {"family": "mlp", "width": 16}, "b": {"family": "mlp", "width": 8}}
DECIDES = Experiment("decides", "c", lambda p: ARMS, test=Superiority("a", "b", "m"))
WAITS = Experiment("waits", "c", lambda p: ARMS, test=Superiority("a", "b", "n"))
GUARDED = Experiment("guarded", "c", lambda p: ARMS, test=Superiority("a", "b", "m"),
                     guards=(Learned(),))  # fmt: skip
FIXED = Experiment("fixed", "c", lambda p: ARMS, custom=lambda df: None)
READER = Experiment("reader", "c", lambda p: {}, test=Superiority("a", "b", "n"),
                    runs_of="waits")  # fmt: skip
SUITE = Suite("s", "d", (DECIDES, WAITS, GUARDED, FIXED, READER))


def data(seeds: int, m_gain: float = 1.0, accuracy: float = 0.8) -> dict[str, pd.DataFrame]:
    """`m`: a steady gain of arm a, give or take 1% (decides at once); `n`: noise around 0
    (never decides)."""
    rng = np.random.default_rng(0)
    noise, jitter = rng.normal(0, 1, size=(2, seeds)), rng.normal(0, 0.01, size=seeds)
    a = [1 + m_gain + e for e in jitter]
    frame = pd.concat([rows("m", {"final_val_accuracy": accuracy}, a=a, b=[1.0] * seeds)]).assign(
        n=list(noise[0]) + list(noise[1])
    )
    return {k: frame for k in ("decides", "waits", "guarded", "fixed")}


def test_the_first_look_stops_decided_invalid_and_fixed_designs_and_lets_the_rest_go_on():
    stops = look(SUITE, [], CI, data(2, accuracy=0.8), 1, {})
    assert stops["decides"] == Stop(1, 2, 2, "supported", "decided at look 1 of 2, 2 seeds")
    assert stops["fixed"].why == "a fixed design: judged once" and stops["fixed"].looks == 1
    assert "waits" not in stops and "reader" not in stops  # undecided: a second round
    invalid = look(SUITE, [], CI, data(2, accuracy=0.1), 1, {})["guarded"]
    assert invalid.verdict == "invalid design" and "more seeds do not mend" in invalid.why


def test_the_next_round_adds_new_seeds_only_to_the_runs_an_undecided_experiment_reads():
    stops = look(SUITE, [], CI, data(2), 1, {})
    pairs = next_round(SUITE, [], CI, 1, stops)
    assert {label for label, _ in pairs} == {"waits:a", "waits:b"}  # `reader` reads these too
    assert sorted(spec.seed for _, spec in pairs) == [2, 2, 3, 3]


def test_the_last_look_stops_whatever_it_finds():
    stops = look(SUITE, [], CI, data(4), 2, look(SUITE, [], CI, data(2), 1, {}))
    assert stops["waits"].why == "still inconclusive at the last look (look 2 of 2, 4 seeds)"
    assert stops["decides"].look == 1  # a stopped experiment is not looked at again
    assert next_round(SUITE, [], CI, 2, stops) == []


def test_a_report_judges_a_stopped_experiment_on_the_seeds_it_stopped_with():
    df = data(4)["decides"]
    runs, alpha = judge(DECIDES, df, Stop(1, 2, 2, "supported", "decided"))
    assert sorted(runs["spec.seed"].unique()) == [0, 1] and alpha == ALPHA / 2
    assert judge(DECIDES, df, None)[1] == ALPHA  # a group with no plan: one look
    assert len(first_seeds(df, 3)) == 6


def test_each_look_tests_at_alpha_over_the_number_of_looks():
    assert alpha_per_look(3) == pytest.approx(ALPHA / 3)
    v = DECIDES.analyze(data(2)["decides"], alpha_per_look(2))
    assert v.alpha == 0.025 and "97.5% CI" in v.explanation


def _false_decisions(looks: tuple[int, ...], alpha: float, sims: int) -> float:
    """Share of true-null experiments that some look declares different from 0 (either way),
    stopping at the first look that does."""
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(sims):
        a, b = rng.normal(0, 1, looks[-1]), rng.normal(0, 1, looks[-1])
        for n in looks:
            c = paired(pd.Series(a[:n]), pd.Series(b[:n]), alpha, resample=False)
            if c.ci_low > 0 or c.ci_high < 0:
                hits += 1
                break
    return hits / sims


def test_under_a_true_null_repeated_looks_keep_false_verdicts_near_the_nominal_level():
    looks = PROFILES["quick"].seed_rounds  # 4, 8, 12 seeds
    bonferroni = _false_decisions(looks, alpha_per_look(len(looks)), 2000)
    naive = _false_decisions(looks, ALPHA, 2000)
    assert bonferroni <= ALPHA + 0.012  # binomial sd at 2000 runs is about 0.005
    assert bonferroni >= 0.02  # conservative, not dead: Bonferroni loses little here
    assert naive > 0.08  # what peeking at 5% each time would do instead


def test_a_look_sees_only_runs_finished_by_its_time_so_a_later_retry_changes_nothing():
    df = data(4)["decides"].assign(finished_at="2026-01-01T00:00:00+00:00")
    df.loc[df["spec.seed"] == 1, "finished_at"] = "2026-01-02T00:00:00+00:00"  # retried later
    seen = first_seeds(df, 2, "2026-01-01T12:00:00+00:00")
    assert sorted(seen["spec.seed"].unique()) == [0]


def test_a_run_that_ends_early_stops_every_experiment_still_going():
    stops = close(SUITE, ["waits", "decides"], 1, 2, 2, {"decides": Stop(1, 2, 2, "supported",
                  "decided")}, "a job of the run was cancelled")  # fmt: skip
    assert stops["waits"].why == "a job of the run was cancelled" and stops["waits"].verdict is None
    assert stops["decides"].verdict == "supported" and "fixed" not in stops


def test_a_look_judges_without_the_secondary_figures():
    """Looks run in the reconciler too, where torch is never imported: explain is skipped."""

    def boom(df):
        raise AssertionError("explain ran during a look")

    loud = Experiment("loud", "c", lambda p: ARMS, test=Superiority("a", "b", "m"), explain=boom)
    stops = look(Suite("s", "d", (loud,)), [], CI, {"loud": data(2)["decides"]}, 1, {})
    assert stops["loud"].verdict == "supported"
