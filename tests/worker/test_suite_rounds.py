"""Rounds of seeds through the queue: the workers send each next round, with no client
attached, and the run stops by its rule."""

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from cli import main
from core.store.db import session_scope
from core.store.suite_runs import get_run
from core.store.tables import Job, SuiteRun, utcnow
from core.suite_runs import undecided
from core.suites import suites
from core.suites.report import evaluate
from tests.services import wait_until


@pytest.fixture
def rounds_env(queue_env, monkeypatch):
    monkeypatch.setenv("BNBENCH_SUITES", "tests.rounds_suite:SUITE")  # workers inherit it
    monkeypatch.setenv("COLUMNS", "200")
    return queue_env


def labels_and_seeds(run_id: str) -> list[tuple[str, int]]:
    with session_scope(readonly=True) as s:
        rows = s.execute(select(Job.label, Job.spec_json).where(Job.group_id == run_id)).all()
    return sorted((label, spec["seed"]) for label, spec in rows)


def test_an_undecided_experiment_gets_a_second_round_sent_by_the_workers(rounds_env,
                                                                       start_workers):  # fmt: skip
    start_workers(2)
    res = CliRunner().invoke(main, ["suite", "run", "rounds", "--profile", "ci"])  # no --wait
    assert res.exit_code == 0, res.output
    run_id = res.stdout.strip()
    wait_until(lambda: get_run(run_id).state == "done", 120, "the run to finish")
    run = get_run(run_id)
    assert run.round == 2
    assert run.stops["decided"].why == "decided at look 1 of 2, 2 seeds"
    assert run.stops["undecided"].why == (
        "still inconclusive at the last look (look 2 of 2, 4 seeds)"
    )
    jobs = labels_and_seeds(run_id)
    assert jobs == sorted(
        [(f"decided:{arm}", seed) for arm in ("frozen", "trained") for seed in (0, 1)]
        + [(f"undecided:{arm}", seed) for arm in ("one", "two") for seed in range(4)]
    )  # each once: the decided experiment got no second round
    verdicts = {v.experiment: v for v in evaluate(suites()["rounds"], run_id)}
    assert verdicts["decided"].verdict == "supported" and verdicts["decided"].seeds == 2
    assert verdicts["undecided"].verdict == "inconclusive" and verdicts["undecided"].seeds == 4
    report = CliRunner().invoke(main, ["suite", "report", "rounds", "--group", run_id])
    assert "decided at look 1 of 2" in report.stdout and "Bonferroni" in report.stderr


def test_wait_only_watches_and_local_runs_the_same_rounds(rounds_env, start_workers):
    start_workers(1)
    queued = CliRunner().invoke(main, ["suite", "run", "rounds", "--profile", "ci", "--wait"])
    assert queued.exit_code == 0, queued.output
    assert "done after round 2" in queued.stderr
    local = CliRunner().invoke(main, ["suite", "run", "rounds", "--profile", "ci", "--local"])
    assert local.exit_code == 0, local.output
    q, h = get_run(queued.stdout.strip()), get_run(local.stdout.strip())
    assert (h.mode, h.round, h.state) == ("local", q.round, "done")
    assert {k: s.why for k, s in h.stops.items()} == {k: s.why for k, s in q.stops.items()}
    assert len(labels_and_seeds(h.id)) == len(labels_and_seeds(q.id)) == 12


def test_the_reconciler_sends_a_round_no_worker_sent(rounds_env):
    from worker.reconciler import reconcile
    from worker.settings import Settings
    from worker.suite_rounds import submit_suite

    run_id, _ = submit_suite(suites()["rounds"], "ci", [])
    with session_scope() as s:  # the round ended, and the worker died before advancing it
        s.execute(update(Job).where(Job.group_id == run_id).values(
            status="failed", finished_at=utcnow().replace(year=2000)))  # fmt: skip
    with session_scope() as s:  # a run of a suite this worker does not know comes first
        s.add(SuiteRun(id="suite-gone-ci-0", suite="gone", profile="ci", experiments=[],
                       round=1, looks=2, state="running", mode="queue", stops={},
                       created_at=utcnow().replace(year=1999)))  # fmt: skip
    did = reconcile(Settings.from_env())
    assert did["next_round"] == 8 and get_run(run_id).round == 2
    assert reconcile(Settings.from_env())["next_round"] == 0  # once
    assert undecided(get_run("suite-gone-ci-0")) == []  # listed, though nobody can judge it


def test_local_closes_a_run_whose_first_round_has_no_jobs(rounds_env):
    res = CliRunner().invoke(main, ["suite", "run", "article", "--profile", "ci", "--local",
                                    "--experiment", "dropout_test_time_scaling"])  # fmt: skip
    assert res.exit_code == 0, res.output
    run = get_run(res.stdout.strip())
    assert run.state == "done" and run.stops["dropout_test_time_scaling"].looks == 1
