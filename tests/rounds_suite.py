"""A suite for testing rounds of seeds: one experiment decided at the first look, one that
stays undecided to the last. Workers load it with BNBENCH_SUITES=tests.rounds_suite:SUITE.

`decided` compares parameter counts (width 16 against 8): the same difference for every
seed, so the first look decides. `undecided` compares two arms that train identically (they
differ only in the inference batch sizes timed after training), so no look can exclude 0.
"""

from core.spec.presets import preset
from core.suites import Experiment, Suite
from core.suites.claims import Superiority

TINY = {k: v for k, v in preset("tiny").items() if k != "seed"}

DECIDED = Experiment(
    key="decided",
    claim="A wider network has more parameters.",
    arms=lambda p: {"wide": dict(TINY, width=16), "narrow": dict(TINY, width=8)},
    test=Superiority("wide", "narrow", "param_count"),
)
UNDECIDED = Experiment(
    key="undecided",
    claim="Timing more inference batch sizes changes accuracy.",
    arms=lambda p: {
        "one": dict(TINY, infer_batch_sizes=[1]),
        "two": dict(TINY, infer_batch_sizes=[1, 2]),
    },
    test=Superiority("two", "one", "final_val_accuracy"),
)
SUITE = Suite("rounds", "Rounds of seeds, for tests.", (DECIDED, UNDECIDED))

# A timing experiment for the re-run of noisy timings: two layer benchmarks on the CPU.
LAYER = dict(kind="layer", layer="batchnorm2d", mode="train_fwd", shape=[4, 8, 8, 8],
             device="cpu", warmup_steps=1, timed_steps=3, repeats=3)  # fmt: skip
TIMED = Experiment(
    key="timed",
    claim="A BatchNorm2d forward pass is faster in eval mode than in train mode.",
    evidence="median_ms",
    arms=lambda p: {"train": dict(LAYER), "eval": dict(LAYER, mode="eval_fwd")},
    test=Superiority("train", "eval", "median_ms", paired=False, log=True),
)
TIMED_SUITE = Suite("timed", "A timing experiment, for tests.", (TIMED,))
