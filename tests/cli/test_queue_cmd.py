"""Queue commands as a user types them."""

import json

import pytest
from click.testing import CliRunner

from cli import main
from core.store.read import ResultFilter, query_records

TINY_FLAGS = [
    "--epochs",
    "1",
    "--synthetic-samples",
    "64",
    "--batch-size",
    "16",
    "--depth",
    "1",
    "--width",
    "8",
    "--device",
    "cpu",
]


@pytest.fixture
def cli(queue_env, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def invoke(cli, args, code=0):
    res = cli.invoke(main, args)
    assert res.exit_code == code, res.output
    return res


def test_submit_a_grid_with_repeats_makes_one_group(cli):
    res = invoke(
        cli,
        [
            "submit",
            *TINY_FLAGS,
            "--grid",
            "dropout_p=0.0,0.5",
            "--grid",
            "norm=batchnorm,none",
            "--seeds",
            "2",
            "--label",
            "g",
        ],
    )
    ids = res.stdout.split()
    assert len(ids) == 8 and "group sweep-" in res.stderr
    recs = query_records(ResultFilter(job_ids=tuple(ids)))
    assert len({r["group_id"] for r in recs}) == 1
    combos = {(r["spec.dropout_p"], r["spec.norm"], r["spec.seed"]) for r in recs}
    assert len(combos) == 8 and {s for *_, s in combos} == {0, 1}
    assert {r["status"] for r in recs} == {"queued"}


def test_a_bad_grid_value_is_refused_before_anything_is_sent(cli):
    res = invoke(cli, ["submit", *TINY_FLAGS, "--grid", "dropout_p=0.1,1.5"], code=2)
    assert "dropout_p" in res.stderr
    assert query_records() == []


def test_a_sweep_over_the_deployments_limit_sends_nothing(cli, monkeypatch):
    monkeypatch.setenv("BNBENCH_MAX_EPOCHS", "3")
    res = invoke(cli, ["submit", *TINY_FLAGS, "--grid", "epochs=1,2,9"], code=2)
    assert "epochs: 9 is over this deployment's limit of 3 (BNBENCH_MAX_EPOCHS)" in res.stderr
    assert query_records() == []


def test_jobs_lists_the_queue_and_cancel_retry_work_by_prefix(cli):
    job_id = invoke(cli, ["submit", *TINY_FLAGS, "--label", "mine"]).stdout.strip()
    out = invoke(cli, ["jobs"]).stdout
    assert job_id[:8] in out and "queued" in out and "mine" in out
    assert "cancelled" in invoke(cli, ["cancel", job_id[:8]]).stdout
    again = invoke(cli, ["cancel", job_id[:8]], code=1)  # it used to say "cancelled" again
    assert f"{job_id[:8]} was already cancelled; nothing to cancel" in again.stderr
    assert "queued again" in invoke(cli, ["retry", job_id[:8]]).stdout
    res = invoke(cli, ["retry", job_id[:8]], code=2)
    assert "only failed or cancelled jobs can be retried" in res.stderr


def test_submit_reuse_returns_the_existing_result(cli, start_workers):
    start_workers(1)
    first = invoke(cli, ["submit", *TINY_FLAGS, "--wait"]).stdout.strip()
    again = invoke(cli, ["submit", *TINY_FLAGS, "--reuse"]).stdout.strip()
    assert again == first
    assert len(query_records()) == 1


def test_workers_lists_the_fleet(cli, start_workers):
    assert "No workers registered" in invoke(cli, ["workers"]).stdout
    start_workers(1, prefix="fleet")
    out = invoke(cli, ["workers"]).stdout
    assert "fleet0@" in out and "live" in out and "cpu" in out
    rows = json.loads(invoke(cli, ["workers", "--format", "json"]).stdout)
    assert [(r["state"], r["queues"]) for r in rows] == [("live", "cpu")]


def test_submit_wait_exits_nonzero_when_a_job_fails(cli, start_workers, tmp_path):
    start_workers(1)
    res = invoke(
        cli,
        ["submit", *TINY_FLAGS, "--dataset", "mnist", "--data-root", str(tmp_path), "--wait"],
        code=1,
    )
    assert "failed 1" in res.stderr


def test_the_gpu_model_flag_routes_to_that_models_queue(cli):
    job_id = invoke(
        cli, ["submit", *TINY_FLAGS[:-2], "--device", "cuda", "--gpu-model", "h100"]
    ).stdout.strip()
    [rec] = query_records(ResultFilter(job_ids=(job_id,)))
    assert (rec["queue"], rec["spec.gpu_model"]) == ("gpu.h100", "h100")


def test_a_queue_name_with_rich_markup_prints_as_itself(cli):
    invoke(cli, ["submit", *TINY_FLAGS, "--queue", "[/]"])
    out = invoke(cli, ["jobs"]).stdout
    assert "[/]" in out


def test_a_spec_too_big_for_every_live_worker_of_its_queue_is_refused_at_submission(cli):
    from core.store.workers import register_worker

    register_worker("cpu0@small", ["cpu"], None, memory_mb=256)
    res = invoke(cli, ["submit", *TINY_FLAGS, "--width", "8192", "--depth", "8"], code=2)
    assert "width: the spec needs about" in res.stderr
    assert "over this deployment's limit of 256 MiB (BNBENCH_MAX_MODEL_MB)" in res.stderr
    sweep = ["submit", *TINY_FLAGS, "--grid", "width=8,8192", "--depth", "8"]
    invoke(cli, sweep, code=2)  # one spec over the budget: none of the sweep is sent
    assert query_records(ResultFilter()) == []
    invoke(cli, ["submit", *TINY_FLAGS, "--width", "8192", "--depth", "8", "--queue", "big"])


def test_retrying_a_job_whose_spec_never_validated_says_why_and_queues_nothing(cli):
    import uuid

    from core.store.jobs import create_rejected_job

    job_id = str(uuid.uuid4())
    create_rejected_job(job_id, '{"spec": {"bachsize": 3}}', "InvalidPayload", "bad", "cpu")
    res = invoke(cli, ["retry", job_id[:8]], code=2)
    assert "spec never validated (InvalidPayload)" in res.stderr
    assert "queued again" not in res.stdout
    [rec] = query_records(ResultFilter(job_ids=(job_id,)), spec=False)
    assert rec["status"] == "failed"


def test_submitting_to_a_queue_no_worker_consumes_says_so(cli):
    res = invoke(cli, ["submit", *TINY_FLAGS, "--queue", "gpu.h100"])
    assert "no live worker consumes queue gpu.h100" in " ".join(res.stderr.split())
    assert "no live worker consumes queue gpu.h100" in " ".join(
        invoke(cli, ["jobs"]).stdout.split()
    )


def test_no_warning_while_a_live_worker_consumes_the_queue(cli, start_workers):
    start_workers(1)  # a real worker process on queue cpu, registered before this returns
    res = invoke(cli, ["submit", *TINY_FLAGS, "--queue", "cpu"])
    assert "no live worker" not in res.stderr


def test_jobs_watch_piped_prints_a_table_each_refresh(queue_env):
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    bnbench = str(Path(sys.executable).with_name("bnbench"))
    proc = subprocess.Popen([bnbench, "jobs", "--watch"], stdout=subprocess.PIPE, text=True,
                            env=os.environ, start_new_session=True)  # fmt: skip
    try:
        import select

        ready, _, _ = select.select([proc.stdout], [], [], 30)  # Live printed nothing here
        first = proc.stdout.readline() if ready else ""
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(10)
    assert "most recent jobs" in first


def test_cancelling_a_finished_job_says_there_was_nothing_to_cancel(cli):
    from core.store.jobs import mark_failed

    job_id = invoke(cli, ["submit", *TINY_FLAGS]).stdout.strip()
    mark_failed(job_id, "DataError", "boom")
    res = invoke(cli, ["cancel", job_id[:8]], code=1)
    assert f"{job_id[:8]} had already failed; nothing to cancel" in res.stderr
    assert query_records()[0]["status"] == "failed"


def test_submit_repeats_is_refused_with_the_two_names_it_could_mean(cli):
    res = invoke(cli, ["submit", *TINY_FLAGS, "--repeats", "3"], code=2)
    assert "--seeds 3" in res.stderr and "--set repeats=3" in res.stderr
    assert query_records() == []
