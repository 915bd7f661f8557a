"""Suites, experiments and profiles: a claim, the specs that test it, and the rule that judges."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from core.spec.parse import validate_spec
from core.spec.schema import BenchSpec
from core.suites.claims import ClaimTest, tested_arms
from core.suites.guards import Guard, Learned
from core.suites.stats import ALPHA
from core.suites.verdicts import Verdict


@dataclass(frozen=True)
class Profile:
    """Sizes for a suite run: quick for a 2-core CPU, full for GPUs. `seed_rounds` are the
    seeds an experiment has at each look (cumulative): the first round runs them all, the
    later ones only for experiments still undecided (core.suites.sequential)."""

    name: str
    seed_rounds: tuple[int, ...]
    epochs: int
    samples: int
    width: int
    device: str
    batch_size: int = 64

    @property
    def seeds(self) -> int:
        """Seeds in the first round."""
        return self.seed_rounds[0]

    @property
    def looks(self) -> int:
        return len(self.seed_rounds)

    def base(self) -> dict[str, Any]:
        """Spec fields every model experiment starts from. On a CPU, one thread: the thread
        count changes the float rounding, so two runs of one spec and seed would train along
        different paths (at batch 4, 1 against 2 threads moved val accuracy by 0.1)."""
        return dict(
            family="mlp", depth=2, width=self.width, dataset="synthetic",
            synthetic_samples=self.samples, synthetic_features=32, synthetic_difficulty=0.5,
            epochs=self.epochs, batch_size=self.batch_size, lr=0.05, device=self.device,
            test_fraction=0.2,
            warmup_steps=2, timed_steps=10, repeats=2, infer_batch_sizes=[64],
            **({"threads": 1} if self.device == "cpu" else {}),
        )  # fmt: skip


PROFILES = {
    "ci": Profile("ci", seed_rounds=(2, 4), epochs=2, samples=512, width=16, device="cpu"),
    "quick": Profile(
        "quick", seed_rounds=(4, 8, 12), epochs=6, samples=2048, width=64, device="cpu"
    ),
    # Sized for one GPU in about five minutes per suite: larger batches, not fewer seeds.
    "full": Profile(
        "full",
        seed_rounds=(5, 10, 20),
        epochs=15,
        samples=16384,
        width=512,
        device="cuda",
        batch_size=256,
    ),
}


@dataclass(frozen=True)
class Experiment:
    """One claim. `arms` maps an arm name to spec fields (seeds are added per repeat).

    The runs (column `arm`) are judged by `test`, a declared claim type, once every guard
    holds; `explain` adds the secondary figures. An experiment that is not a comparison
    (a direct measurement, a smoke run) gives its own Verdict through `custom`, with its
    rule in `note`."""

    key: str
    claim: str
    arms: Callable[[Profile], dict[str, dict[str, Any]]]
    test: ClaimTest | None = None
    guards: tuple[Guard, ...] = ()
    explain: Callable[[pd.DataFrame], str] | None = None
    custom: Callable[[pd.DataFrame], Verdict] | None = None
    note: str = ""  # added to the rule; the whole rule of a custom experiment
    seeds: Callable[[Profile], int] | None = None  # a fixed design's seeds; None: sequential
    evidence: str | None = None  # the result column to chart by arm on the Claims page
    runs_of: str | None = None  # another experiment's key whose runs this one reads again
    epoch_evidence: str | None = None  # an epoch-level chart: "last_hidden_inputs"

    @property
    def runs_key(self) -> str:
        """The label prefix of the runs this experiment judges."""
        return self.runs_of or self.key

    @property
    def sequential(self) -> bool:
        """Run in rounds of seeds until decided: a declared test, not a fixed number of runs."""
        return self.test is not None and self.seeds is None

    def seed_rounds(self, profile: Profile) -> tuple[int, ...]:
        """Seeds this experiment's runs have at each look (one look unless sequential)."""
        if self.sequential:
            return profile.seed_rounds
        return (self.seeds(profile) if self.seeds else profile.seeds,)

    @property
    def rule(self) -> str:
        parts = [self.test.describe()] if self.test else []
        if self.guards:
            checks = "; ".join(g.describe() for g in self.guards)
            parts.append(f"Checked first, else the design is invalid: {checks}.")
        if self.note:
            parts.append(self.note)
        return " ".join(parts)

    def analyze(self, df: pd.DataFrame, alpha: float = ALPHA, explain: bool = True) -> Verdict:
        """The verdict on these runs: guards first, then the claim's test at level alpha.
        explain=False leaves out the secondary figures (a sequential look needs only the
        verdict, and may run where torch is not imported)."""
        if self.custom is not None:
            return self.custom(df)
        assert self.test is not None, f"{self.key} has neither a test nor a custom analysis"
        base = dict(
            experiment=self.key, claim=self.claim, claim_type=self.test.kind,
            margin=getattr(self.test, "margin", None), effect_name=self.test.what(), alpha=alpha,
        )  # fmt: skip
        has_runs = "arm" in df.columns and len(df) > 0
        if has_runs:
            for guard in self.guards:
                if (why := guard.check(df, tested_arms(self.test))) is not None:
                    seeds = int(df.groupby("arm").size().min())
                    return Verdict(**base, verdict="invalid design", effect=None, ci_low=None,
                                   ci_high=None, n=seeds, failed_check=why,
                                   explanation=f"Invalid design: {why}. No verdict is drawn "
                                   "from these runs.")  # fmt: skip
        verdict, c, why = self.test.judge(df, alpha)
        extra = self.explain(df) if (self.explain and has_runs and explain) else ""
        caveats = [g.caveat(df, tested_arms(self.test)) for g in self.guards
                   if has_runs and isinstance(g, Learned)]  # fmt: skip
        extra = " ".join(x for x in (extra, *caveats) if x)
        interval = c is not None and not math.isnan(c.ci_low)  # identical differences: none
        return Verdict(
            **base, verdict=verdict, effect=None if c is None else c.value,
            ci_low=c.ci_low if interval else None, ci_high=c.ci_high if interval else None,
            n=0 if c is None else c.n, method=None if c is None else c.method,
            mde=None if c is None else c.mde,
            explanation=f"{why}." + (f" {extra}" if extra else ""),
        )  # fmt: skip

    def specs(self, profile: Profile, seeds: range | None = None) -> list[tuple[str, BenchSpec]]:
        """(label, spec) for every arm and seed (the first round's unless given); the label is
        `<experiment>:<arm>`."""
        seeds = seeds if seeds is not None else range(self.seed_rounds(profile)[0])
        out = []
        for arm, fields in self.arms(profile).items():
            for seed in seeds:
                out.append((f"{self.runs_key}:{arm}", validate_spec({**fields, "seed": seed})))
        return out


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    experiments: tuple[Experiment, ...]

    def specs(self, keys: list[str], profile: Profile) -> list[tuple[str, BenchSpec]]:
        """What to submit for the experiments `keys` (all when empty): experiments that read
        another's runs bring that one's specs, once."""
        chosen = [e for e in self.experiments if not keys or e.key in keys]
        runs = dict.fromkeys(e.runs_key for e in chosen)
        return [pair for k in runs for pair in self.experiment(k).specs(profile)]

    def experiment(self, key: str) -> Experiment:
        for e in self.experiments:
            if e.key == key:
                return e
        raise KeyError(f"{key}: no such experiment in suite {self.name}")
