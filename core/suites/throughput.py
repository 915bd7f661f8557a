"""Suite `throughput`: how fast BN and dropout run, against the device's copy bandwidth.

Time effects are compared on a log scale: the effect is log(time of the slower-claimed arm /
time of the faster-claimed arm), so a CI above 0 means the claimed speedup is there; the
explanation gives the speedup factor and the roofline fractions. Timing arms share no seeds
(a seed does not pair two timings), so they are compared with Welch's interval.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from core.repeat_stats import steps_noisy
from core.suites.claims import Superiority, by_seed, compare
from core.suites.guards import OutputsMatch
from core.suites.model import Experiment, Profile, Suite
from core.suites.stats import ALPHA, holm, versus
from core.suites.verdicts import Verdict

H100_PITFALL = (
    "On an H100, bf16 BatchNorm2d training in NCHW ran at 218 GB/s against 790 GB/s in fp32, "
    "with a 2,981 GB/s copy ceiling."
)


def _shape(p: Profile) -> list[int]:
    return [32, 64, 32, 32] if p.name != "full" else [128, 256, 56, 56]


def _layer(p: Profile, **fields) -> dict:
    return dict(kind="layer", shape=_shape(p), device=p.device, warmup_steps=3,
                timed_steps=10 if p.name != "full" else 100, repeats=5, **fields)  # fmt: skip


def arm_values(df: pd.DataFrame, arm: str, metric: str) -> np.ndarray:
    return by_seed(df, arm, metric).to_numpy()


def _roofline(df: pd.DataFrame, arm: str) -> str:
    vals = arm_values(df, arm, "roofline_fraction")
    gbps = arm_values(df, arm, "achieved_gbps")
    if not len(vals):
        return f"{arm}: no result"
    return f"{arm}: {gbps.mean():.1f} GB/s, {100 * vals.mean():.0f}% of copy bandwidth"


def _timing(slow: str, fast: str) -> Superiority:
    return Superiority(slow, fast, "median_ms", paired=False, log=True)


def noisy_runs(df: pd.DataFrame) -> str:
    """How many runs' timings spread over 10% of their median (IQR / median, the level at
    which torch.utils.benchmark warns), after the suite re-ran each such run once: a verdict
    over noisy runs is weaker than its CI says."""
    if "iqr_ms" not in df.columns or df.empty:
        return ""
    reruns = int(df["rerun"].sum()) if "rerun" in df.columns else 0
    again = f" {reruns} noisy runs were re-run once before judging." if reruns else ""
    noisy = sum(steps_noisy(i, m) for i, m in zip(df["iqr_ms"], df["median_ms"], strict=True))
    if not noisy:
        return f"{again} Every run's timings held within 10% (IQR / median)."
    return (
        f"{again} {noisy} of {len(df)} runs are noisy: their timings spread over 10% of the "
        "median (IQR / median); a busy host does this, so re-run before trusting it."
    )


def _speed_explain(slow: str, fast: str, what: str):
    def explain(df: pd.DataFrame) -> str:
        d = compare(df, slow, fast, "median_ms", is_paired=False, log=True)
        factor = "n/a" if d is None else f"{math.exp(d.value):.2f}x"
        return (
            f"{what}: {fast} runs {factor} as fast as {slow}. {_roofline(df, slow)}; "
            f"{_roofline(df, fast)}.{noisy_runs(df)}"
        )

    return explain


def _bf16_arms(p: Profile) -> dict:
    base = _layer(p, layer="batchnorm2d", mode="train_fwdbwd")
    return {"fp32": {**base, "dtype": "float32"}, "bf16": {**base, "dtype": "bfloat16"}}


BF16_BN = Experiment(
    key="bf16_batchnorm2d_nchw",
    evidence="median_ms",
    claim="bf16 halves the bytes, so BatchNorm2d training in NCHW runs faster than in fp32.",
    test=_timing("fp32", "bf16"),
    note=f"Not supported is the known pitfall. {H100_PITFALL}",
    arms=_bf16_arms,
    explain=_speed_explain("fp32", "bf16", "BatchNorm2d fwd+bwd, NCHW"),
)


def _cl_arms(p: Profile) -> dict:
    base = _layer(p, layer="batchnorm2d", mode="train_fwdbwd", dtype="bfloat16")
    return {"nchw": {**base, "memory_format": "contiguous"},
            "channels_last": {**base, "memory_format": "channels_last"}}  # fmt: skip


CHANNELS_LAST = Experiment(
    key="channels_last_batchnorm2d",
    evidence="median_ms",
    claim="channels_last makes bf16 BatchNorm2d training faster than NCHW.",
    test=_timing("nchw", "channels_last"),
    arms=_cl_arms,
    explain=_speed_explain("nchw", "channels_last", "bf16 BatchNorm2d fwd+bwd"),
)


def _compile_arms(p: Profile) -> dict:
    base = _layer(p, layer="bn_relu_dropout", mode="train_fwdbwd", dropout_p=0.1)
    return {"eager": {**base, "compile": "none"}, "compiled": {**base, "compile": "default"}}


COMPILE_CHAIN = Experiment(
    key="compile_bn_relu_dropout",
    evidence="median_ms",
    claim="torch.compile fuses BN -> ReLU -> Dropout and trains it faster than eager.",
    test=_timing("eager", "compiled"),
    arms=_compile_arms,
    explain=_speed_explain("eager", "compiled", "BN -> ReLU -> Dropout fwd+bwd"),
)


def _fold_arms(p: Profile) -> dict:
    return {
        "mlp_bn": {
            **p.base(),
            "epochs": 1,
            "norm": "batchnorm",
            "dropout_p": 0.0,
            "infer_batch_sizes": [256],
            "timed_steps": 30,
            "repeats": 5,
        }
    }


def _fold_explain(df: pd.DataFrame) -> str:
    d = compare(df, "mlp_bn", None, "fold_speedup", log=True)
    factor = "n/a" if d is None else f"{math.exp(d.value):.2f}x"
    return (
        f"Folding BN into the preceding Linear layer changes eval-mode inference throughput "
        f"by {factor} at batch 256 (outputs checked equal within tolerance in every job)."
    )


FOLDING = Experiment(
    key="bn_folding_inference",
    evidence="fold_speedup",
    claim="Folding BN into the preceding layer speeds up inference.",
    test=Superiority("mlp_bn", None, "fold_speedup", log=True),
    guards=(OutputsMatch("fold_matches"),),
    note="fold_speedup is folded over unfolded samples/s at the largest inference batch, "
    "measured in the same job.",
    arms=_fold_arms,
    explain=_fold_explain,
)


LAYER_SHAPES = {
    "batchnorm1d": [4096, 256],
    "batchnorm2d": [32, 64, 32, 32],
    "batchnorm3d": [8, 32, 8, 16, 16],
    "dropout": [32, 64, 32, 32],
    "dropout2d": [32, 64, 32, 32],
}
ROOFLINE_BAR = 0.5  # fraction of copy bandwidth that counts as running near the roofline


def _roofline_arms(p: Profile) -> dict:
    scale = 4 if p.name == "full" else 1
    out = {}
    for layer, shape in LAYER_SHAPES.items():
        big = [shape[0] * scale, *shape[1:]]
        out[layer] = {**_layer(p, layer=layer, mode="train_fwd"), "shape": big}
    return out


def _roofline_analyze(df: pd.DataFrame, alpha: float = ALPHA) -> Verdict:
    """Each layer's fraction against the bar, one-sided on log fractions (scipy.stats.
    ttest_1samp, or the sign test on identical values): supported if every layer is shown
    above it at alpha / 2 (an intersection-union test), not supported if any is shown below
    after Holm over the layers (statsmodels' multipletests). A fraction over 1 means the
    input stayed in a cache, where copy bandwidth is no roofline: the design is invalid."""
    e = ROOFLINE
    fractions = {a: arm_values(df, a, "roofline_fraction") for a in LAYER_SHAPES}
    have = {a: v for a, v in fractions.items() if len(v)}
    summary = ", ".join(f"{a} {100 * np.median(v):.0f}%" for a, v in have.items())
    worst = min(have.items(), key=lambda kv: float(np.median(kv[1]))) if have else None
    base = dict(
        experiment=e.key, claim=e.claim, effect_name="lowest median fraction of copy "
        "bandwidth (train forward)", effect=None if worst is None else float(np.median(worst[1])),
        ci_low=None, ci_high=None, n=min((len(v) for v in have.values()), default=0),
        method=ROOFLINE_METHOD, alpha=alpha,
    )  # fmt: skip
    explanation = (
        f"Achieved fraction of the measured copy bandwidth, train forward (median of each "
        f"layer's runs): {summary or 'no results'}. Bar: {ROOFLINE_BAR:.0%}."
    )
    over = [a for a, v in have.items() if np.median(v) > 1]
    if over:
        why = (
            f"{', '.join(over)} ran above 100% of the copy bandwidth: the input stayed in a "
            "cache, where copy bandwidth is no roofline; a shape larger than the last-level "
            "cache would test the claim"
        )
        return Verdict(**base, verdict="invalid design", failed_check=why,
                       explanation=f"Invalid design: {why}. {explanation}")  # fmt: skip
    if len(have) < len(LAYER_SHAPES) or any(len(v) < 2 for v in have.values()):
        return Verdict(**base, verdict="inconclusive", explanation=explanation)
    comps = {
        a: versus(pd.Series(np.log(v)), math.log(ROOFLINE_BAR), alpha) for a, v in have.items()
    }
    above = [comps[a].one_sided_p(0.0, "greater") for a in have]
    below = holm([comps[a].one_sided_p(0.0, "less") for a in have], alpha / 2)
    if all(p < alpha / 2 for p in above):
        verdict = "supported"
    elif any(below):
        verdict = "not supported"
        shown = [a for a, hit in zip(have, below, strict=True) if hit]
        explanation += f" Shown below the bar (Holm over {len(have)} layers): {', '.join(shown)}."
    else:
        verdict = "inconclusive"
    return Verdict(**base, verdict=verdict, explanation=explanation)


ROOFLINE_METHOD = (
    "one-sample t on log fraction against log 0.5 per layer (scipy.stats.ttest_1samp); "
    "below the bar Holm-corrected over the layers (statsmodels.stats.multitest.multipletests)"
)


ROOFLINE = Experiment(
    key="layers_near_roofline",
    claim="BatchNorm1d/2d/3d, Dropout and Dropout2d are memory-bound and run near the "
    "device's copy bandwidth.",
    note=f"Each layer's fraction of the copy bandwidth measured in the same job, against "
    f"{ROOFLINE_BAR:.0%}, one-sided on log fractions: supported if every layer is shown above "
    "it (each at alpha / 2); not supported if any is shown below after Holm's correction over "
    "the layers; invalid design if a layer's median is above 100% (its input stayed in a "
    "cache); inconclusive otherwise, or without results for all five.",
    arms=_roofline_arms,
    custom=_roofline_analyze,
    evidence="roofline_fraction",
)


THROUGHPUT = Suite(
    name="throughput",
    description="BN and dropout speed: dtypes, memory formats, compile and BN folding.",
    experiments=(ROOFLINE, BF16_BN, CHANNELS_LAST, COMPILE_CHAIN, FOLDING),
)
