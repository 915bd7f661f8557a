"""The statistics behind verdicts, from scipy and statsmodels: nothing hand-rolled.

Arms of a model experiment share seeds (the same split, initialization and dropout masks for
the same seed), so they are compared seed by seed: the per-seed differences get a one-sample
t interval (scipy.stats.ttest_rel's, computed on the differences), a BCa bootstrap interval
where there are enough of them (scipy.stats.bootstrap), and a minimum detectable effect
(statsmodels' TTestPower). Arms that do not share seeds (timings) use Welch's interval
(scipy.stats.ttest_ind with equal_var=False). Equivalence is two one-sided tests
(statsmodels' ttost_paired / ttost_ind) against a stated margin; families of one-sided tests
are corrected with Holm (statsmodels' multipletests). Differences with no spread (every seed
one epoch apart, say: time to target counts whole epochs) have no t interval; the sign test
decides them (scipy.stats.binomtest), and their interval, the median's by order statistics, is
the common value or none at all.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestIndPower, TTestPower
from statsmodels.stats.weightstats import ttost_ind, ttost_paired

ALPHA = 0.05  # per claim; the report says so
POWER = 0.8  # for the minimum detectable effect
BOOTSTRAP_MIN_N = 8  # below this a bootstrap interval is not worth printing


def _flat(d: np.ndarray) -> bool:
    """No spread worth a t test (constant up to rounding, as 0.81 - 0.71 and 0.80 - 0.70)."""
    return float(np.ptp(d)) <= 1e-9 * max(1.0, float(np.abs(d).max()))


@dataclass(frozen=True)
class Comparison:
    """a - b (or a - reference): the mean difference, its 95% CI and how it was computed."""

    value: float
    ci_low: float
    ci_high: float
    n: int
    method: str
    mde: float | None  # smallest |effect| the design detects with POWER at ALPHA
    differences: tuple[float, ...] = ()  # per seed, when paired or against a reference
    a: tuple[float, ...] = ()  # the arms' values, when unpaired
    b: tuple[float, ...] = ()
    bootstrap: tuple[float, float] | None = None
    alpha: float = ALPHA  # the CI is (1 - alpha); its tests reject at alpha

    @property
    def paired(self) -> bool:
        return bool(self.differences)

    def one_sided_p(self, threshold: float, alternative: str) -> float:
        """p of H1: mean difference `alternative` ("less" or "greater") than threshold."""
        if self.paired:
            d = np.asarray(self.differences) - threshold
            if _flat(d):
                return _sign_p(d, alternative)
            return float(stats.ttest_1samp(d, 0.0, alternative=alternative).pvalue)
        a = np.asarray(self.a) - threshold
        return float(stats.ttest_ind(a, self.b, equal_var=False, alternative=alternative).pvalue)

    def equivalence_p(self, margin: float) -> float:
        """TOST p-value for |mean difference| < margin."""
        if self.paired:
            d = np.asarray(self.differences)
            if _flat(d):  # two one-sided sign tests
                return max(_sign_p(d + margin, "greater"), _sign_p(d - margin, "less"))
            return float(ttost_paired(d, np.zeros_like(d), -margin, margin)[0])
        return float(ttost_ind(np.asarray(self.a), np.asarray(self.b), -margin, margin,
                               usevar="unequal")[0])  # fmt: skip


def _sign_p(d: np.ndarray, alternative: str) -> float:
    """Sign test of H1: the median of d is `alternative` ("less", "greater", "two-sided")
    than 0; zeros count against H1."""
    n = len(d)
    if alternative == "two-sided":
        return min(1.0, 2 * min(_sign_p(d, "less"), _sign_p(d, "greater")))
    k = int(np.sum(d < 0)) if alternative == "less" else int(np.sum(d > 0))
    return float(stats.binomtest(k, n, 0.5, alternative="greater").pvalue)


def _flat_comparison(d: np.ndarray, alpha: float) -> Comparison:
    """Every difference the same: the sign test decides. The median's order-statistic
    interval is [value, value] once n seeds can reject at alpha two-sided (2 x 0.5^n <=
    alpha: 6 seeds at 0.05), and undefined (NaN) before: a verdict then stays inconclusive."""
    n, value = len(d), float(np.median(d))
    p = _sign_p(d, "two-sided")
    low = high = value if p <= alpha else math.nan
    method = f"sign test over {n} seeds, every difference {value:+.3g} (scipy.stats.binomtest)"
    return Comparison(value, low, high, n, method, None,
                      differences=tuple(float(x) for x in d), alpha=alpha)  # fmt: skip


@functools.lru_cache(maxsize=256)
def _paired_effect_size(n: int, alpha: float) -> float:
    """Standardized effect detected with POWER at alpha by n pairs (solved numerically once)."""
    return float(TTestPower().solve_power(nobs=n, alpha=alpha, power=POWER))


@functools.lru_cache(maxsize=256)
def _welch_effect_size(n1: int, n2: int, alpha: float) -> float:
    return float(TTestIndPower().solve_power(nobs1=n1, ratio=n2 / n1, alpha=alpha, power=POWER))


def _from_differences(
    d: np.ndarray, method: str, alpha: float, resample: bool = True
) -> Comparison:
    if _flat(d):
        return _flat_comparison(d, alpha)
    n, mean = len(d), float(d.mean())
    sd = float(d.std(ddof=1))
    low, high = stats.ttest_1samp(d, 0.0).confidence_interval(1 - alpha)
    mde = _paired_effect_size(n, alpha) * sd
    boot = None
    if resample and n >= BOOTSTRAP_MIN_N:
        ci = stats.bootstrap((d,), np.mean, method="BCa", n_resamples=4999, random_state=0,
                             confidence_level=1 - alpha)  # fmt: skip
        boot = (float(ci.confidence_interval.low), float(ci.confidence_interval.high))
    return Comparison(mean, float(low), float(high), n, method, mde,
                      differences=tuple(float(x) for x in d), bootstrap=boot,
                      alpha=alpha)  # fmt: skip


def paired(
    a: pd.Series, b: pd.Series, alpha: float = ALPHA, resample: bool = True
) -> Comparison | None:
    """a - b over the seeds both arms have (Series indexed by seed); None under two seeds.
    resample=False skips the bootstrap interval, which no verdict reads (simulations)."""
    seeds = a.index.intersection(b.index).sort_values()
    if len(seeds) < 2:
        return None
    d = (a[seeds] - b[seeds]).to_numpy(dtype=float)
    method = f"paired t over {len(seeds)} seeds (scipy.stats.ttest_1samp on the differences)"
    return _from_differences(d, method, alpha, resample)


def versus(a: pd.Series, reference: float, alpha: float = ALPHA) -> Comparison | None:
    """a - reference, seed by seed; None under two seeds."""
    if len(a) < 2:
        return None
    d = a.to_numpy(dtype=float) - reference
    return _from_differences(
        d, f"one-sample t against {reference:g} over {len(a)} seeds (scipy.stats.ttest_1samp)",
        alpha,
    )  # fmt: skip


def welch(a: pd.Series, b: pd.Series, alpha: float = ALPHA) -> Comparison | None:
    """a - b for arms that do not share seeds; None with fewer than two values in an arm."""
    x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
    if len(x) < 2 or len(y) < 2:
        return None
    value = float(x.mean() - y.mean())
    method = f"Welch t, {len(x)} and {len(y)} runs (scipy.stats.ttest_ind, equal_var=False)"
    if _flat(x) and _flat(y):
        return Comparison(value, value, value, min(len(x), len(y)), method, 0.0,
                          a=tuple(x), b=tuple(y), alpha=alpha)  # fmt: skip
    low, high = stats.ttest_ind(x, y, equal_var=False).confidence_interval(1 - alpha)
    pooled = math.sqrt((x.var(ddof=1) + y.var(ddof=1)) / 2)
    size = _welch_effect_size(len(x), len(y), alpha)
    return Comparison(value, float(low), float(high), min(len(x), len(y)), method,
                      size * pooled, a=tuple(x), b=tuple(y), alpha=alpha)  # fmt: skip


def holm(pvalues: list[float], alpha: float = ALPHA) -> list[bool]:
    """Which of the one-sided tests reject at alpha, Holm-corrected as one family."""
    if not pvalues:
        return []
    return [bool(r) for r in multipletests(pvalues, alpha=alpha, method="holm")[0]]


def level(alpha: float) -> str:
    """The confidence level of a (1 - alpha) interval: `95%`, `98.3%`."""
    return f"{100 * (1 - alpha):.3g}%"


def fmt(c: Comparison | None) -> str:
    """`+0.123 [95% CI +0.050, +0.196]`, or why there is no number."""
    if c is None:
        return "not enough finished runs"
    if math.isnan(c.ci_low):
        return f"{c.value:+.3f} [no {level(c.alpha)} interval from {c.n} identical differences]"
    return f"{c.value:+.3f} [{level(c.alpha)} CI {c.ci_low:+.3f}, {c.ci_high:+.3f}]"
