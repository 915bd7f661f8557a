"""The fleet matrix on real runs of two simulated machines, the second with its thread pool
oversubscribed: a real slowdown the matrix must show as a ratio below 1."""

import pytest

from core.fleet import label, matrix, speeds
from tests.dbseed import seed
from tests.history_runs import interleaved


@pytest.fixture(scope="module")
def two_machines():
    machines = {
        model: {"BNBENCH_SIMULATED_GPU_MODEL": model, "BNBENCH_THREADS": threads}
        for model, threads in (("Fake A", "1"), ("Fake B", "8"))
    }
    with pytest.MonkeyPatch.context() as mp:
        return interleaved(mp, machines, repeats=4)


def test_the_slower_machine_shows_below_1_with_its_interval(db_url, two_machines):
    for model, spec, result in two_machines:
        seed(db_url, spec, result, group_id=model.replace(" ", "-"), label="mlp")
    df = speeds(["Fake-A", "Fake-B"])
    m = matrix(df, "machine", reference="Fake A")
    a, b = m.loc["mlp", "Fake A"], m.loc["mlp", "Fake B"]
    assert (a["ratio"], a["n"]) == (1.0, 4)
    assert b["high"] < 1.0 and b["low"] <= b["ratio"] <= b["high"]
    assert label(b).startswith(f"{b['ratio']:.2f}× [")
    assert matrix(df, "torch").shape == (1, 1)  # one torch version: one column


def test_a_benchmark_missing_on_a_machine_is_an_empty_cell(db_url, two_machines):
    for model, spec, result in two_machines[:3]:  # A, B, A: then only A has the second label
        seed(db_url, spec, result, group_id="g", label=f"{model}-only" if spec.seed else "both")
    m = matrix(speeds(["g"]), "machine")
    assert m.loc["Fake A-only", "Fake B"] is None and label(None) == "-"


def test_columns_are_machines_or_torch_versions_only(db_url, two_machines):
    _, spec, result = two_machines[0]
    seed(db_url, spec, result, group_id="g")
    with pytest.raises(ValueError, match="choose one of machine, torch"):
        matrix(speeds(["g"]), "hostname")
