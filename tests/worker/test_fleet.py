"""The fleet matrix from a suite run on every GPU model of the fleet. Two CPU workers stand in
for two GPU models through BNBENCH_SIMULATED_GPU_MODEL, a test-only setting: each registers
as its model, consumes that model's queue, and reports the model in its results."""

from click.testing import CliRunner

from cli import main
from core.fleet import matrix, speeds
from core.store.suite_runs import get_run
from tests.dashboard.conftest import page
from tests.services import wait_until


def test_a_suite_on_every_gpu_model_fills_the_hardware_matrix(queue_env, start_workers):
    for model in ("Fake A", "Fake B"):
        slug = model.lower().replace(" ", "-")
        start_workers(1, queues=[f"gpu.{slug}"], prefix=slug,
                      env={"BNBENCH_SIMULATED_GPU_MODEL": model})  # fmt: skip
    res = CliRunner().invoke(
        main,
        [
            "suite",
            "run",
            "throughput",
            "--profile",
            "ci",
            "--gpu-model",
            "all",
            "--experiment",
            "bf16_batchnorm2d_nchw",
        ],
    )
    assert res.exit_code == 0, res.output + res.stderr
    assert "one run per GPU model: Fake A, Fake B" in res.stderr
    run_ids = res.stdout.split()
    assert len(run_ids) == 2
    wait_until(lambda: all(get_run(r).state == "done" for r in run_ids), 300, "both runs")

    df = speeds(run_ids)
    assert set(df["machine"]) == {"Fake A", "Fake B"}
    m = matrix(df, "machine", reference="Fake A")
    assert list(m.columns) == ["Fake A", "Fake B"]
    assert set(m.index) == {"bf16_batchnorm2d_nchw:fp32", "bf16_batchnorm2d_nchw:bf16"}
    for bench, row in m.iterrows():
        assert row["Fake A"]["ratio"] == 1.0  # the reference against itself
        cell = row["Fake B"]
        assert cell["n"] >= 2 and cell["low"] <= cell["ratio"] <= cell["high"], (bench, cell)

    at = page("hardware")
    at.session_state["hw_groups"] = run_ids
    at.run()
    assert not at.exception
    shown = at.dataframe[0].value
    assert list(shown.columns) == ["Fake A", "Fake B"]
    assert all(v.startswith("1.00×") for v in shown["Fake A"])
