"""The `bnbench` command as a user meets it."""

import json

import pytest
from click.testing import CliRunner

from cli import COMMANDS, main


@pytest.fixture
def cli():
    return CliRunner()


def test_help_lists_every_command(cli):
    out = cli.invoke(main, ["--help"]).output
    for name in COMMANDS:
        assert name in out


def test_run_help_groups_the_spec_flags(cli):
    out = cli.invoke(main, ["run", "--help"], terminal_width=200).output
    for section in ("Spec: Normalization", "Spec: Dropout", "Spec: Runtime"):
        assert section in out
    assert "--bn-momentum" in out and "null keeps a cumulative average" in out


def test_run_preset_with_flags_prints_json(cli):
    res = cli.invoke(
        main,
        [
            "run",
            "--preset",
            "smoke",
            "--epochs",
            "1",
            "--device",
            "cpu",
            "--set",
            "bn_momentum=null",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    result = json.loads(res.stdout)
    assert result["spec"]["epochs"] == 1 and result["spec"]["bn_momentum"] is None
    assert result["model"]["throughput"]["samples_per_s"] > 0


def test_run_prints_a_readable_table(cli, tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "family: seednet\nepochs: 1\ntimed_steps: 5\nrepeats: 2\n"
        "infer_batch_sizes: [1, 8]\ndevice: cpu\n"
    )
    out = tmp_path / "r.json"
    res = cli.invoke(main, ["run", str(spec), "--out", str(out)], terminal_width=160)
    assert res.exit_code == 0, res.output
    for words in ("Training", "Epochs", "BN statistics", "Inference", "fold speedup"):
        assert words in res.stdout
    assert json.loads(out.read_text())["kind"] == "model"


def test_bad_value_exits_2_and_names_the_field(cli):
    res = cli.invoke(main, ["run", "--set", "batchsize=3", "--set", "lr=-1"])
    assert res.exit_code == 2
    assert "batchsize: unknown field; did you mean batch_size?" in res.stderr
    assert "lr:" in res.stderr


def test_unknown_preset_lists_the_known_ones(cli):
    res = cli.invoke(main, ["run", "--preset", "nope"])
    assert res.exit_code == 2 and "smoke" in res.stderr


def test_missing_dataset_files_exit_2_with_the_fix(cli, tmp_path):
    res = cli.invoke(
        main, ["run", "--dataset", "mnist", "--data-root", str(tmp_path), "--device", "cpu"]
    )
    assert res.exit_code == 2
    assert "data_root" in res.stderr and "train-images-idx3-ubyte" in res.stderr


def test_dry_run_prints_the_canonical_spec(cli):
    res = cli.invoke(main, ["run", "--preset", "net", "--dry-run"])
    assert json.loads(res.stdout)["family"] == "seednet"


def test_spec_command_lists_fields_and_defaults(cli):
    assert "bn_momentum" in cli.invoke(main, ["spec"], terminal_width=200).output
    assert "dropout_p: 0.5" in cli.invoke(main, ["spec", "--defaults"]).output
    schema = json.loads(cli.invoke(main, ["spec", "--json-schema"]).output)
    assert "bn_momentum" in schema["properties"]


def test_presets_include_the_articles_three_networks(cli):
    out = cli.invoke(main, ["presets"], terminal_width=200).output
    for name in ("simplenet", "dropoutnet", "net"):
        assert name in out


def test_run_with_an_unreachable_database_says_so_and_how_to_go_on(cli, monkeypatch):
    monkeypatch.setenv("BNBENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/test")
    res = cli.invoke(main, ["run", "--preset", "tiny"])
    assert res.exit_code == 2, res.output
    assert "127.0.0.1:1/test is unreachable" in res.stderr
    assert "pass --no-record" in res.stderr and res.exception.__class__ is SystemExit
