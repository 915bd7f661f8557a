"""The throughput suite's analyses on constructed rows: speedups on a log scale, each path."""

import math

import pandas as pd
import pytest

from core.suites import PROFILES
from core.suites.throughput import BF16_BN, CHANNELS_LAST, COMPILE_CHAIN, FOLDING, THROUGHPUT


def layer_rows(**arms) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"arm": a, "median_ms": t, "achieved_gbps": 10.0 / t, "roofline_fraction": 0.5 / t}
            for a, ts in arms.items()
            for t in ts
        ]
    )


@pytest.mark.parametrize(
    ("fp32", "bf16", "verdict"),
    [
        ([2.0, 2.1, 2.0], [1.0, 1.1, 1.0], "supported"),
        ([1.0, 1.1, 1.0], [3.0, 3.2, 3.1], "not supported"),  # the H100 pitfall's shape
        ([1.0, 2.0, 1.5], [1.5, 1.0, 2.0], "inconclusive"),
    ],
)
def test_bf16_batchnorm_paths(fp32, bf16, verdict):
    v = BF16_BN.analyze(layer_rows(fp32=fp32, bf16=bf16))
    assert v.verdict == verdict and "copy bandwidth" in v.explanation


def test_speedup_effect_is_a_log_ratio_of_unpaired_timings():
    v = CHANNELS_LAST.analyze(layer_rows(nchw=[2.0, 2.0, 2.0], channels_last=[1.0, 1.0, 1.0]))
    assert v.effect == pytest.approx(math.log(2.0)) and "2.00x" in v.explanation
    assert v.method.startswith("Welch t, 3 and 3 runs")


def test_compile_without_results_is_inconclusive():
    assert COMPILE_CHAIN.analyze(pd.DataFrame(columns=["arm"])).verdict == "inconclusive"


@pytest.mark.parametrize(
    ("speedups", "verdict"), [([1.5, 1.6, 1.4], "supported"), ([0.7, 0.8, 0.75], "not supported")]
)
def test_folding_paths(speedups, verdict):
    df = pd.DataFrame([{"arm": "mlp_bn", "fold_speedup": s, "fold_matches": True}
                       for s in speedups])  # fmt: skip
    assert FOLDING.analyze(df).verdict == verdict


def test_a_folded_model_with_other_outputs_is_no_evidence_however_fast():
    df = pd.DataFrame([{"arm": "mlp_bn", "fold_speedup": s, "fold_matches": m}
                       for s, m in ((1.5, True), (1.6, False), (1.4, None))])  # fmt: skip
    v = FOLDING.analyze(df)
    assert v.verdict == "invalid design" and "2 of 3 runs' fold_matches is not true" in (
        v.failed_check
    )


@pytest.mark.parametrize("profile", list(PROFILES))
def test_every_throughput_spec_is_valid(profile):
    for e in THROUGHPUT.experiments:
        assert e.specs(PROFILES[profile])


def roofline_rows(fraction_by_layer: dict) -> pd.DataFrame:
    return pd.DataFrame(
        [{"arm": a, "roofline_fraction": f} for a, fs in fraction_by_layer.items() for f in fs]
    )


def test_roofline_paths():
    """Each layer is tested against the bar on its runs, not read off its mean."""
    from core.suites.throughput import LAYER_SHAPES, ROOFLINE

    near = {layer: [0.7, 0.8, 0.75, 0.72] for layer in LAYER_SHAPES}
    v = ROOFLINE.analyze(roofline_rows(near))
    assert v.verdict == "supported" and "scipy.stats.ttest_1samp" in v.method
    slow = {**near, "batchnorm3d": [0.2, 0.3, 0.25, 0.22]}
    v = ROOFLINE.analyze(roofline_rows(slow))
    assert v.verdict == "not supported" and v.effect == pytest.approx(0.235)
    assert "Shown below the bar (Holm over 5 layers): batchnorm3d" in v.explanation
    straddles = {**near, "dropout": [0.3, 0.9, 0.4, 0.8]}  # mean 0.6, but not shown above
    assert ROOFLINE.analyze(roofline_rows(straddles)).verdict == "inconclusive"
    partial = {k: v for k, v in near.items() if k != "dropout"}
    assert ROOFLINE.analyze(roofline_rows(partial)).verdict == "inconclusive"


def test_a_layer_above_the_copy_bandwidth_makes_the_roofline_design_invalid():
    """Dropout2d at 290% on a CPU: its 8 MB input stayed in the 32 MB cache."""
    from core.suites.throughput import LAYER_SHAPES, ROOFLINE

    rows = {layer: [0.7, 0.8, 0.75, 0.72] for layer in LAYER_SHAPES} | {"dropout2d": [2.9] * 4}
    v = ROOFLINE.analyze(roofline_rows(rows))
    assert v.verdict == "invalid design" and "dropout2d ran above 100%" in v.failed_check


def test_a_timing_verdict_says_how_many_of_its_runs_were_noisy():
    df = layer_rows(nchw=[2.0, 2.0, 2.0], channels_last=[1.0, 1.0, 1.0])
    steady = CHANNELS_LAST.analyze(df.assign(iqr_ms=0.05 * df["median_ms"]))
    assert "Every run's timings held within 10%" in steady.explanation
    noisy = df.assign(iqr_ms=[0.5, 0.05, 0.05, 0.3, 0.05, 0.05])  # 25% and 30% of the median
    assert "2 of 6 runs are noisy" in CHANNELS_LAST.analyze(noisy).explanation
