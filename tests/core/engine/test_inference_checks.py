"""Inference figures that contradict themselves are marked, not passed silently."""

import pandas as pd
import pytest
import torch

from core.engine.inference_checks import CONTRADICTS, NOISY, checked, point_checks
from core.engine.timing import alternating_rounds


def test_a_steady_consistent_point_passes():
    assert point_checks(round_median_ms=0.020, round_iqr_ms=0.001, latency_p95_ms=0.024) == []


def test_rounds_spread_over_ten_percent_are_noisy():
    assert point_checks(0.020, 0.003, 0.024) == [NOISY]


def test_samples_per_s_slower_than_the_p95_latency_contradicts_it():
    # 11,000 samples/s at batch 1 is 0.091 ms a call, while 95% of calls took under 0.024 ms
    assert point_checks(1 / 11_000 * 1e3, 0.0, 0.024) == [CONTRADICTS]
    assert point_checks(0.0225, 0.0, 0.022) == []  # a tight distribution, within 10%


def rows(unfolded_ms: float, folded_ms: float, iqr_ms: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame({
        "job_id": ["j", "j"], "batch_size": [64, 64], "folded": [False, True],
        "samples_per_s": [64 / unfolded_ms * 1e3, 64 / folded_ms * 1e3],
        "latency_p50_ms": [0.02, 0.02], "latency_p95_ms": [0.025, 0.025],
        "round_ms_median": [unfolded_ms, folded_ms], "round_ms_iqr": [iqr_ms, 0.0],
    })  # fmt: skip


def test_a_fold_speedup_is_as_trustworthy_as_its_unfolded_point():
    ok = checked(rows(0.021, 0.014))
    assert ok["fold_speedup"].tolist()[1] == pytest.approx(1.5)
    assert ok["check"].tolist() == ["ok", "ok"]
    # the 10-15x: the unfolded rounds caught a busy host
    bad = checked(rows(0.21, 0.014))
    assert bad["fold_speedup"].tolist()[1] == pytest.approx(15)
    assert bad["check"].tolist() == [CONTRADICTS, f"unfolded: {CONTRADICTS}"]


def test_an_empty_table_stays_empty():
    assert checked(pd.DataFrame(columns=rows(1, 1).columns)).empty


def test_alternating_rounds_take_turns_and_swap_who_goes_first():
    calls = []
    fns = [lambda: calls.append("A"), lambda: calls.append("B")]
    times = alternating_rounds(fns, torch.device("cpu"), warmup=0, calls=2, rounds=3)
    assert "".join(calls) == "AABB" + "BBAA" + "AABB"
    assert [len(t) for t in times] == [3, 3]
