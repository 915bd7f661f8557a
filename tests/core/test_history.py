"""Regression detection on real runs of this machine (docs/history.md).

Each set's jobs run interleaved with the other set's (A, B, A, B ...), so the host's drift
falls on both alike. The slowdowns are real ones: the same spec with torch.profiler left on
around its runs (about 15-20% slower), and with its torch thread pool oversubscribed
(BNBENCH_THREADS=8 on this 2-core machine, about 75% slower) against one thread.
"""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from core.history import result_sets, verdicts
from core.store.baselines import pin, pins, unpin
from tests.dbseed import seed
from tests.history_runs import SPEC, Webhook, interleaved, profiler_on, store, throughputs


@pytest.fixture(scope="module")
def slowdown():
    with pytest.MonkeyPatch.context() as mp:
        return interleaved(mp, {"before": "1", "oversubscribed": "8"}, repeats=6)


@pytest.fixture(scope="module")
def profiled():
    with pytest.MonkeyPatch.context() as mp:
        return interleaved(mp, {"before": "1", "profiled": "1"}, repeats=20,
                           around={"profiled": profiler_on})  # fmt: skip


@pytest.fixture(scope="module")
def noise():
    with pytest.MonkeyPatch.context() as mp:
        return interleaved(mp, {"monday": "1", "tuesday": "1"}, repeats=10)


def test_an_oversubscribed_thread_pool_is_found_as_a_regression(db_url, slowdown):
    store(db_url, slowdown)
    [v] = verdicts()
    slower = 1 - np.median(throughputs(slowdown, "oversubscribed")) / np.median(
        throughputs(slowdown, "before")
    )
    assert slower >= 0.15, f"the planted slowdown measured {slower:.0%}; it must be 15% or more"
    assert v.status == "regression", (v.status, v.ratio, v.p_value)
    assert v.baseline.group_id == "before" and v.contender.group_id == "oversubscribed"
    assert v.changed == {"threads": (1, 8)}  # the fingerprint part that moved, and only it
    assert v.ci is not None and v.ci[1] < 1 - 0.05
    assert v.change == pytest.approx(v.ratio - 1)


def test_a_profiler_left_on_is_found_as_a_regression_of_about_15_percent(db_url, profiled):
    """Issue 17's case: a slowdown of about 15% against noise of a few percent. Where the host
    itself swings more than that between runs (this machine kind's vCPUs sometimes run whole
    runs 40% slower), no test of 20 against 20 runs can find 15% reliably, so the test says
    so and skips; the oversubscription above is found under any noise."""
    before = throughputs(profiled, "before")
    noise = np.std(before) / np.mean(before)
    if noise > 0.05:
        pytest.skip(f"the host's noise between identical runs was CV {noise:.0%}, above the "
                    "3-5% a 15% slowdown is to be found against (issue 17)")  # fmt: skip
    store(db_url, profiled)
    [v] = verdicts()
    slower = 1 - np.median(throughputs(profiled, "profiled")) / np.median(before)
    assert 0.08 <= slower <= 0.40, f"the profiler's overhead measured {slower:.0%}"
    assert v.status == "regression", (v.status, v.ratio, v.p_value, v.ci, slower)
    assert (v.baseline.group_id, v.contender.group_id) == ("before", "profiled")
    assert v.changed == {}  # nothing in the fingerprint moved: the code did
    assert v.ci is not None and v.ci[1] < 1 - 0.05


def test_noise_alone_is_not_a_regression(db_url, noise):
    store(db_url, noise)
    [v] = verdicts()
    cv = {g: np.std(throughputs(noise, g)) / np.mean(throughputs(noise, g))
          for g in ("monday", "tuesday")}  # fmt: skip
    assert v.status == "unchanged", (v.status, v.ratio, v.p_value, cv)
    assert v.changed == {} and (v.baseline.n, v.contender.n) == (10, 10)


def test_a_pinned_baseline_is_compared_instead_of_the_set_before(db_url, slowdown):
    ids = store(db_url, slowdown)
    later = store(db_url, [("after", s, r) for g, s, r in slowdown if g == "oversubscribed"])
    [v] = verdicts()
    assert (v.baseline.group_id, v.contender.group_id, v.status) == (
        "oversubscribed",
        "after",
        "unchanged",
    )  # the same results again: no change against the set just before
    assert pin(ids["before"][0]) == [(SPEC.repeat_key(), "before")]
    [v] = verdicts()
    assert (v.baseline.group_id, v.pinned, v.status) == ("before", True, "regression")
    assert [k for k, _, _ in pins()] == [SPEC.repeat_key()]
    assert unpin(SPEC.repeat_key()[:6]) == 1 and pins() == []
    assert later["after"]


def test_holding_threads_splits_the_series(db_url, slowdown):
    store(db_url, slowdown)
    assert [v.status for v in verdicts(hold=("gpu_name", "cpu_model", "threads"))] == []


def test_results_in_no_group_form_runs_between_fingerprint_changes(db_url, slowdown):
    from core.history import load

    for _, spec, result in slowdown:
        seed(db_url, spec, result)
    sets = result_sets(load())
    # alternating fingerprints: every result is a run of its own
    assert [s.n for s in sets] == [1] * len(slowdown)
    assert all(s.key.startswith("run:") for s in sets)


def test_the_command_exits_1_on_a_regression_and_prints_json(db_url, slowdown):
    store(db_url, slowdown)
    res = CliRunner().invoke(main, ["regressions", "--format", "json"])
    assert res.exit_code == 1, res.output
    [row] = json.loads(res.output)
    assert row["status"] == "regression" and "threads 1→8" in row["changed"]
    assert row["link"].startswith("http://localhost:8501/compare?jobs=")
    res = CliRunner().invoke(main, ["regressions", "--threshold", "0.99"])
    assert res.exit_code == 0 and "unchanged" in res.output  # significant, but not 99% worse


def test_the_command_names_a_bad_fingerprint_part(db_url):
    res = CliRunner().invoke(main, ["regressions", "--hold", "gpu,torch"])
    assert res.exit_code == 2 and "'gpu' is no fingerprint part" in res.output


def test_baseline_set_names_what_it_did_not_find(db_url):
    res = CliRunner().invoke(main, ["baseline", "set", "nope-nothing"])
    assert res.exit_code != 0 and "is no group with a succeeded job" in res.output + res.stderr


@pytest.fixture
def webhook(monkeypatch):
    with Webhook() as hook:
        monkeypatch.setenv("BNBENCH_ALERT_WEBHOOK", hook.url)
        yield hook.bodies


def test_notify_posts_each_regression_once(db_url, slowdown, webhook):
    from worker.reconciler import notify_regressions

    store(db_url, slowdown)
    res = CliRunner().invoke(main, ["regressions", "--notify"])
    assert res.exit_code == 1 and "notified: 1" in res.stderr
    assert notify_regressions() == 0  # the reconciler's pass finds it announced already
    [body] = webhook
    [item] = body["regressions"]
    assert item["changed"] == {"threads": [1, 8]} and item["change"] < -0.15
    assert body["text"].startswith("bnbench: 1 regression;")


def test_a_failed_post_is_tried_again_on_the_next_pass(db_url, slowdown, monkeypatch):
    from worker.reconciler import notify_regressions

    store(db_url, slowdown)
    monkeypatch.setenv("BNBENCH_ALERT_WEBHOOK", "http://127.0.0.1:9/nobody-listens")
    assert notify_regressions() == 0
    with Webhook() as hook:
        monkeypatch.setenv("BNBENCH_ALERT_WEBHOOK", hook.url)
        assert notify_regressions() == 1 and len(hook.bodies) == 1


def test_a_webhook_that_is_no_url_is_named(monkeypatch):
    from core.config import webhook_url
    from core.errors import ConfigError

    monkeypatch.setenv("BNBENCH_ALERT_WEBHOOK", "hooks.example.com/x")
    with pytest.raises(ConfigError, match=r"BNBENCH_ALERT_WEBHOOK=.* is not an http"):
        webhook_url()


def test_a_time_metric_regresses_upward(db_url, slowdown):
    store(db_url, slowdown)
    [v] = verdicts(metric="step_ms_median")
    assert v.status == "regression" and v.ratio > 1.15 and v.change < -0.15


def test_since_leaves_out_series_that_ended_before(db_url, slowdown):
    from datetime import UTC, datetime, timedelta

    store(db_url, slowdown)
    assert verdicts(since=datetime.now(UTC) + timedelta(minutes=1)) == []
    assert len(verdicts(since=datetime.now(UTC) - timedelta(hours=1))) == 1
