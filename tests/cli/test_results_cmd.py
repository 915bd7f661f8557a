"""The database side of the CLI: runs are recorded, then listed, shown and compared."""

import json

import pytest
from click.testing import CliRunner

from cli import main
from core.store.read import query_records

SMOKE = ["run", "--preset", "smoke", "--device", "cpu", "--epochs", "1"]


@pytest.fixture
def cli(db_url, monkeypatch):
    monkeypatch.setenv("COLUMNS", "220")  # rich sizes tables from it
    return CliRunner()


def invoke(cli, args):
    res = cli.invoke(main, args, terminal_width=200)
    assert res.exit_code == 0, res.output
    return res


def test_a_local_run_is_recorded_as_a_succeeded_job(cli, db_url):
    res = invoke(cli, [*SMOKE, "--label", "first", "--group", "g"])
    [rec] = query_records()
    assert (rec["status"], rec["queue"], rec["label"], rec["group_id"]) == (
        "succeeded",
        "local",
        "first",
        "g",
    )
    assert rec["final_val_accuracy"] is not None and rec["job_id"][:8] in res.stderr


def test_a_failing_local_run_is_recorded_as_failed(cli, db_url, tmp_path):
    res = cli.invoke(
        main, ["run", "--dataset", "mnist", "--data-root", str(tmp_path), "--device", "cpu"]
    )
    assert res.exit_code == 2
    [rec] = query_records()
    assert rec["status"] == "failed" and rec["error_type"] == "DataError"
    assert "train-images-idx3-ubyte" in rec["error_message"]


def test_no_record_leaves_the_database_alone(cli, db_url):
    invoke(cli, [*SMOKE, "--no-record"])
    assert query_records() == []


def test_results_lists_filters_and_exports(cli, db_url, tmp_path):
    invoke(cli, [*SMOKE, "--dropout-p", "0.1"])
    invoke(cli, [*SMOKE, "--dropout-p", "0.5"])
    table = invoke(cli, ["results"]).stdout
    assert "2 jobs" in table and "succeeded" in table
    rows = json.loads(
        invoke(cli, ["results", "--where", "dropout_p=0.5", "--format", "json"]).stdout
    )
    assert [r["spec.dropout_p"] for r in rows] == [0.5]
    csv = invoke(cli, ["results", "--format", "csv"]).stdout
    assert csv.splitlines()[0].startswith("job_id,status")
    import io

    import pandas as pd

    sizes = pd.read_csv(io.StringIO(csv))["spec.infer_batch_sizes"]
    assert all(json.loads(v) == rows[0]["spec.infer_batch_sizes"] for v in sizes)  # not "(1, 8)"
    out = tmp_path / "r.parquet"
    invoke(cli, ["results", "--format", "parquet", "--out", str(out)])
    assert len(pd.read_parquet(out)) == 2


def test_results_repeats_groups_by_spec_without_seed(cli, db_url):
    for seed in (0, 1, 2):
        invoke(cli, [*SMOKE, "--seed", str(seed)])
    rows = json.loads(invoke(cli, ["results", "--repeats", "--format", "json"]).stdout)
    assert len(rows) == 1 and rows[0]["repeats"] == 3
    assert rows[0]["final_val_accuracy.n"] == 3


def test_results_on_an_empty_database_says_how_to_start(cli, db_url):
    assert "bnbench run --preset smoke" in invoke(cli, ["results"]).stdout


def test_bad_filter_names_the_field(cli, db_url):
    res = cli.invoke(main, ["results", "--where", "dropout=0.5"])
    assert res.exit_code == 2 and "did you mean dropout_p" in res.stderr
    res = cli.invoke(main, ["results", "--since", "yesterday"])
    assert res.exit_code == 2 and "ISO date" in res.output


def test_show_tells_the_whole_story_of_a_job(cli, db_url):
    invoke(cli, [*SMOKE, "--label", "x"])
    job_id = query_records()[0]["job_id"]
    out = invoke(cli, ["show", job_id[:6]]).stdout
    for words in (
        "succeeded",
        "Spec (fields that differ",
        "Environment",
        "Epochs",
        "Inference",
        "BN statistics",
    ):
        assert words in out
    assert json.loads(invoke(cli, ["show", job_id, "--json"]).stdout)["job_id"] == job_id
    log = invoke(cli, ["show", job_id, "--log"])  # a local run: no worker log, and it says so
    assert f"no log lines for {job_id[:8]}: it ran in `bnbench run`" in log.stderr


def test_show_unknown_job_exits_2(cli, db_url):
    res = cli.invoke(main, ["show", "deadbeef"])
    assert res.exit_code == 2 and "no job id starts with" in res.stderr


def test_compare_two_jobs_shows_differing_fields_and_deltas(cli, db_url):
    invoke(cli, [*SMOKE, "--dropout-p", "0.1"])
    invoke(cli, [*SMOKE, "--dropout-p", "0.5"])
    ids = [r["job_id"] for r in query_records()]
    out = invoke(cli, ["compare", *ids]).stdout
    header = out.splitlines()[2]  # columns are named by what differs, not by job ids
    assert "dropout_p=0.5" in header and "dropout_p=0.1" in header and ids[0][:8] not in header
    assert "norm" not in out
    assert "%)" in out and "val acc" in out


def test_compare_takes_metrics_by_column_or_by_the_header_it_prints(cli, db_url):
    invoke(cli, [*SMOKE, "--dropout-p", "0.1"])
    invoke(cli, [*SMOKE, "--dropout-p", "0.5"])
    ids = [r["job_id"] for r in query_records()]
    out = invoke(cli, ["compare", *ids, "--metric", "samples/s", "--metric", "param_count"])
    assert "samples/s" in out.stdout and "param_count" in out.stdout and "val acc" not in out.stdout
    typo = cli.invoke(main, ["compare", *ids, "--metric", "val_r2"])
    assert typo.exit_code == 2 and "did you mean final_val_r2" in typo.output
    name = cli.invoke(main, ["compare", *ids, "--metric", "fingerprint"])  # a hash, no figure
    assert name.exit_code == 2 and "'fingerprint' is not a metric" in name.output
    none = invoke(cli, ["compare", *ids, "--metric", "epochs_to_target"])  # no target was set
    assert "no value in these results: epochs_to_target" in none.stderr


def test_compare_a_group_uses_repeat_medians(cli, db_url):
    for p in ("0.1", "0.5"):
        for seed in ("0", "1"):
            invoke(cli, [*SMOKE, "--dropout-p", p, "--seed", seed, "--group", "sw"])
    out = invoke(cli, ["compare", "--group", "sw"]).stdout
    assert "medians over repeats" in out
    header = out.splitlines()[2]  # sorted by the swept value: the baseline is its first
    assert header.index("dropout_p=0.1 (n=2)") < header.index("dropout_p=0.5 (n=2)")


def test_db_commands(cli, db_url):
    assert "head" in invoke(cli, ["db", "current"]).stdout
    assert "revision" in invoke(cli, ["db", "upgrade"]).stdout
    assert "### `jobs`" in invoke(cli, ["db", "docs"]).stdout


def test_on_a_new_machine_read_commands_find_an_empty_database_not_a_traceback(tmp_path):
    home = tmp_path / "bnbench-home"
    runner = CliRunner()
    assert runner.invoke(main, ["results", "--help"]).exit_code == 0
    assert not (home / "bnbench.db").exists()  # help touches nothing
    res = runner.invoke(main, ["results"])
    assert res.exit_code == 0 and "No matching jobs" in res.output
    res = runner.invoke(main, ["suite", "report", "papers"])
    assert res.exit_code == 2 and "no run of suite 'papers' yet" in res.stderr


def test_an_unreachable_database_is_named_with_the_fix(monkeypatch):
    monkeypatch.setenv("BNBENCH_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    res = CliRunner().invoke(main, ["jobs"])
    assert res.exit_code == 2
    assert "is unreachable" in res.stderr and "bnbench doctor" in res.stderr


def test_results_repeats_honours_limit_and_names_formats(cli, db_url):
    for p in ("0.1", "0.3", "0.5"):
        invoke(cli, [*SMOKE, "--dropout-p", p])
    out = invoke(cli, ["results", "--repeats", "--limit", "2"]).stdout
    assert out.startswith("2 repeat groups")
    md = invoke(cli, ["results", "--format", "markdown"]).stdout
    assert "| job | status | dropout_p |" in md and "val loss" in md


def test_a_regression_is_shown_by_r2_and_rmse_not_empty_accuracy(cli, db_url):
    reg = [*SMOKE, "--family", "seednet", "--depth", "1", "--width", "20", "--epochs", "3"]
    invoke(cli, [*reg, "--dropout-p", "0.1", "--group", "reg"])
    invoke(cli, [*reg, "--dropout-p", "0.3", "--group", "reg"])
    [rec, _] = query_records()
    assert rec["final_val_rmse"] == pytest.approx(rec["final_val_loss"] ** 0.5)
    header = next(ln for ln in invoke(cli, ["results"]).stdout.splitlines() if "status" in ln)
    assert "val R²" in header and "val RMSE" in header and "val acc" not in header
    md = invoke(cli, ["results", "--repeats", "--format", "markdown"]).stdout
    assert "val R²" in md and "val loss" in md and "val acc" not in md
    out = invoke(cli, ["compare", "--group", "reg"]).stdout
    assert "val R²" in out and "val RMSE" in out and "val acc" not in out
    shown = invoke(cli, ["show", rec["job_id"]]).stdout
    assert "val R² (eval mode)" in shown and "val accuracy" not in shown


def test_show_marks_an_inference_row_whose_throughput_contradicts_its_latency(
    cli, db_url, sample_result
):
    from tests.dashboard.test_pages import busy_inference
    from tests.dbseed import seed, variant

    spec, result = sample_result
    job_id = seed(db_url, spec, variant(result, spec, inference=busy_inference(result)))
    out = invoke(cli, ["show", job_id]).stdout
    assert "! batch 1: samples/s implies a call over 10% slower than the p95 latency" in out
    assert "! batch 1 folded" not in out  # only the point that is wrong is named
    inference = out[out.index("Inference") :].splitlines()
    row = next(ln for ln in inference if ln.strip("│ ").startswith("1 "))
    assert row.count("!") == 2  # its samples/s and the fold speedup that divides it
