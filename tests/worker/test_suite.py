"""A suite runs through the queue like any other group, then its claims are judged."""

import pytest
from click.testing import CliRunner

from cli import main
from core.store.read import ResultFilter, query_records
from core.suites import suites
from core.suites.report import evaluate


@pytest.fixture
def cli(queue_env, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def test_an_experiment_of_the_article_suite_end_to_end(cli, start_workers, tmp_path):
    start_workers(1)
    res = cli.invoke(
        main,
        [
            "suite",
            "run",
            "article",
            "--profile",
            "ci",
            "--experiment",
            "example_networks_run",
            "--experiment",
            "bn_before_activation",
            "--wait",
        ],
    )
    assert res.exit_code == 0, res.output
    group = res.stdout.strip()
    assert group.startswith("suite-article-ci-")
    verdicts = {v.experiment: v for v in evaluate(suites()["article"], group)}
    assert verdicts["example_networks_run"].verdict == "supported"
    examples = verdicts["example_networks_run"].explanation
    assert examples.count("(R² ") == 3 and "nan" not in examples  # a regression's own figure
    position = verdicts["bn_before_activation"]
    assert position.n == 2  # both seeds of both arms finished
    # the ci profile (2 epochs) only checks the plumbing: its networks are near chance,
    # which the design check must say rather than judge
    assert position.verdict == "invalid design" and "did not learn" in position.failed_check
    assert verdicts["bn_speeds_training"].verdict == "inconclusive"  # not run
    report = cli.invoke(main, ["suite", "report", "article"])
    assert report.exit_code == 0 and "example_networks_run" in report.stdout
    assert "supported" in report.stdout
    page = tmp_path / "article.html"
    assert cli.invoke(main, ["suite", "report", "article", "--out", str(page)]).exit_code == 0
    text = page.read_text()
    assert 'class="badge"' in text and "vegaEmbed" in text  # verdicts with evidence charts
    md = tmp_path / "article.md"
    assert cli.invoke(main, ["suite", "report", "article", "--out", str(md)]).exit_code == 0
    assert "| example_networks_run | measurement | - | **supported** |" in md.read_text()


def test_an_unknown_suite_or_experiment_is_named(cli):
    res = cli.invoke(main, ["suite", "run", "nope"])
    assert res.exit_code == 2 and "choose one of article, papers, throughput" in res.stderr
    res = cli.invoke(main, ["suite", "run", "article", "--experiment", "nope"])
    assert res.exit_code == 2 and "bn_speeds_training" in res.stderr


def test_a_report_before_any_run_says_how_to_start(cli):
    res = cli.invoke(main, ["suite", "report", "article"])
    assert res.exit_code == 2 and "bnbench suite run article" in res.stderr


def test_an_experiment_of_the_throughput_suite_end_to_end(cli, start_workers):
    start_workers(1)
    res = cli.invoke(
        main,
        [
            "suite",
            "run",
            "throughput",
            "--profile",
            "ci",
            "--experiment",
            "bn_folding_inference",
            "--experiment",
            "bf16_batchnorm2d_nchw",
            "--wait",
        ],
    )
    assert res.exit_code == 0, res.output
    verdicts = {v.experiment: v for v in evaluate(suites()["throughput"], res.stdout.strip())}
    for key in ("bn_folding_inference", "bf16_batchnorm2d_nchw"):
        v = verdicts[key]  # every seed's fold speedups or layer timings were read, 2 or 4
        assert v.n == v.seeds and v.seeds in (2, 4), v
    assert "copy bandwidth" in verdicts["bf16_batchnorm2d_nchw"].explanation


def test_an_experiment_of_the_papers_suite_end_to_end(cli, start_workers):
    start_workers(1)
    res = cli.invoke(
        main,
        [
            "suite",
            "run",
            "papers",
            "--profile",
            "ci",
            "--experiment",
            "wu_johnson_small_batch",
            "--wait",
        ],
    )
    assert res.exit_code == 0, res.output
    verdicts = {v.experiment: v for v in evaluate(suites()["papers"], res.stdout.strip())}
    v = verdicts["wu_johnson_small_batch"]
    assert v.n == v.seeds and v.seeds in (2, 4)  # a second round when the first is undecided


def test_local_runs_a_suite_here_with_no_broker_and_shared_runs_are_judged_twice(
    monkeypatch, tmp_path
):
    monkeypatch.setenv("BNBENCH_BROKER_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    res = CliRunner().invoke(
        main,
        ["suite", "run", "papers", "--profile", "ci", "--experiment", "ioffe_szegedy_stability",
         "--local"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    group = res.stdout.strip().splitlines()[-1]
    rows = query_records(ResultFilter(group_id=group))
    assert len(rows) in (4, 8) and {r["status"] for r in rows} == {"succeeded"}  # 1 or 2 rounds
    assert {r["label"] for r in rows} == {"ioffe_szegedy_mnist:bn", "ioffe_szegedy_mnist:no_bn"}
    verdicts = {v.experiment: v for v in evaluate(suites()["papers"], group)}
    assert verdicts["ioffe_szegedy_stability"].n == verdicts["ioffe_szegedy_stability"].seeds
    assert verdicts["ioffe_szegedy_mnist"].n == len(rows) // 2  # not chosen: judged on all runs
    out = tmp_path / "papers.html"
    res = CliRunner().invoke(
        main, ["suite", "report", "papers", "--group", group, "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    page = out.read_text()
    second = [c.split("</script>")[0] for c in page.split('id="chart1-')[1:]]  # its charts
    assert any("last_hidden_p85" in c and '"arm"' in c for c in second)
    assert any("per seed" in c for c in second)


def test_a_suite_over_the_deployments_limits_submits_nothing(cli, monkeypatch):
    monkeypatch.setenv("BNBENCH_MAX_EPOCHS", "5")  # the quick papers suite trains 12 epochs
    res = cli.invoke(main, ["suite", "run", "papers", "--profile", "quick"])
    assert res.exit_code == 2
    assert "over this deployment's limits" in res.stderr and "BNBENCH_MAX_EPOCHS" in res.stderr
    assert query_records() == []
