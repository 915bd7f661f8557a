"""The benchmark scripts run end to end at a tiny size and print their side-by-side ratios.
Their figures are not checked here: speed lives in the benchmarks, not in timed tests."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def script(name: str, *args: str, tmp_path: Path) -> tuple[str, dict]:
    out = tmp_path / "out.json"
    res = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{name.removesuffix('.py')}", *args, "--json", str(out)],
        capture_output=True, text=True, timeout=240, cwd=ROOT,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    return res.stdout, json.loads(out.read_text())


def test_harness_overhead_compares_the_runner_with_both_plain_loops(tmp_path):
    out, figures = script("harness_overhead.py", "--device", "cpu", "--only", "seednet",
                          "--rounds", "1", "--window-s", "0", "--timed", "20",
                          "--blocks", "2", "--block-steps", "5", tmp_path=tmp_path)  # fmt: skip
    assert "vs plain gather mean/mean" in out and "vs plain sliced mean/mean" in out
    assert "step A/B, one process (2 x 5 steps)" in out
    [row] = figures["rows"]
    assert row["timed_steps"] == 20 and row["gather_mean"]["median"] > 0
    assert row["step_ab_mean"]["min"] > 0 and row["step_ab_median"]["max"] > 0


def test_fold_alternation_reports_both_methods_and_what_the_checks_caught(tmp_path):
    out, figures = script("fold_alternation.py", "--trials", "3", "--hogs", "0",
                          tmp_path=tmp_path)  # fmt: skip
    assert "sequential" in out and "alternating" in out and "marked suspect" in out
    assert figures["trials"] == 3 and figures["alternating"]["median"] > 0


def test_repeatability_prints_each_sides_cv_alone_and_beside_a_neighbour(tmp_path):
    out, figures = script("repeatability.py", "--jobs", "2", tmp_path=tmp_path)
    assert set(figures) == {"alone", "one busy neighbour"}
    assert "bnbench, 1 thread" in out and "plain loop" in out and "CV" in out
    assert "by fastest step" in out and "steps in a row" in out
    for sides in figures.values():
        assert sides["plain loop"].keys() == sides["bnbench, 1 thread"].keys()
        assert all(len(v) == 2 and min(v) > 0 for side in sides.values() for v in side.values())


def test_host_phases_compares_the_probe_in_slow_and_fast_step_blocks(tmp_path):
    out, figures = script("host_phases.py", "--blocks", "12", tmp_path=tmp_path)
    assert "12 blocks of 25 seednet steps, alone" in out and "probe ms" in out
    assert figures["blocks"] == 12 and figures["step_ms_fast"] > 0 and figures["probe_ms_fast"] > 0
