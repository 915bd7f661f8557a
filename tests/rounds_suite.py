"""A suite for testing rounds of seeds: one experiment decided at the first look, one that
stays undecided to the last. Workers load it with BNBENCH_SUITES=tests.rounds_suite:SUITE.

`decided` compares the training loss of a network trained for 20 epochs with one whose
learning rate is too small to move it: about 1.55 apart on every seed, give or take 0.03, so
two seeds decide at the first look (a difference that is exactly the same on every seed, such
as a parameter count, goes to the sign test, which two seeds cannot pass). `undecided`
compares two arms that train identically (they differ only in the inference batch sizes timed
after training), so no look can exclude 0. One thread, so the float path is the same on
every run.
"""

from core.spec.presets import preset
from core.suites import Experiment, Suite
from core.suites.claims import Superiority

TINY = {k: v for k, v in preset("tiny").items() if k != "seed"}

LONG = dict(TINY, epochs=20, threads=1)
DECIDED = Experiment(
    key="decided",
    claim="Training lowers the training loss.",
    arms=lambda p: {"frozen": dict(LONG, lr=1e-6), "trained": dict(LONG, lr=0.1)},
    test=Superiority("frozen", "trained", "final_train_loss"),
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
