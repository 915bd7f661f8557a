"""Is it the host? Seednet training steps and a fixed matmul probe, taking turns in one process.

Blocks of seednet steps (the plain loop of benchmarks/harness_overhead.py, 1 thread) alternate
with a probe: a 128x128 matmul into a preallocated tensor, which allocates nothing and touches
no training state. Blocks whose median step is over 1.2x the fast blocks' are "slow". If the
probe is slower in the slow-step blocks too, the slowdown came from outside the process (the
CPU shared with something the guest cannot see, such as an SMT sibling on the host), and no
timing window inside a run can remove it. The probe's two sides are compared with
`scipy.stats.mannwhitneyu` (two-sided).

Run it alone and with `--neighbour` (one process busy-looping on a core), the condition of
benchmarks/repeatability.py.

    python -m benchmarks.host_phases [--blocks 300] [--neighbour] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import time

import torch
from scipy.stats import mannwhitneyu

from benchmarks.harness_overhead import setup
from benchmarks.repeatability import _spin
from core.spec.presets import preset
from core.spec.schema import BenchSpec

BLOCK_STEPS = 25
SLOW = 1.2  # a block this much slower than the fast blocks' median is slow


def measure(blocks: int) -> tuple[list[float], list[float]]:
    """(median step ms, median probe ms) per block."""
    spec = BenchSpec.model_validate({**preset("net"), "device": "cpu"})
    _, data, obj, model = setup(spec)
    opt = torch.optim.SGD(model.parameters(), lr=spec.lr, momentum=spec.momentum)
    b = spec.batch_size
    per_epoch = data.x_train.shape[0] // b
    perm = torch.randperm(data.x_train.shape[0], generator=torch.Generator().manual_seed(0))
    a, w, out = torch.randn(128, 128), torch.randn(128, 128), torch.empty(128, 128)

    def step(i: int) -> None:
        idx = perm[(i % per_epoch) * b : (i % per_epoch + 1) * b]
        loss = obj.loss(model(data.x_train[idx]), data.y_train[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def timed(fn, *args) -> float:
        t = time.perf_counter()
        fn(*args)
        return (time.perf_counter() - t) * 1e3

    def probe() -> None:
        for _ in range(10):
            torch.mm(a, w, out=out)

    model.train()
    for i in range(4 * BLOCK_STEPS):  # warm-up
        step(i)
    steps, probes = [], []
    for _ in range(blocks):
        steps.append(statistics.median(timed(step, i) for i in range(BLOCK_STEPS)))
        probes.append(statistics.median(timed(probe) for _ in range(5)))
    return steps, probes


def summarize(steps: list[float], probes: list[float]) -> dict[str, float | int | None]:
    fastest = sorted(steps)[: max(1, len(steps) // 5)]
    cut = statistics.median(fastest) * SLOW
    slow = [p for s, p in zip(steps, probes, strict=True) if s > cut]
    fast = [p for s, p in zip(steps, probes, strict=True) if s <= cut]
    both = bool(slow and fast)
    return {
        "blocks": len(steps),
        "slow_blocks": len(slow),
        "step_ms_fast": statistics.median(s for s in steps if s <= cut),
        "step_ms_slow": statistics.median(s for s in steps if s > cut) if slow else None,
        "probe_ms_fast": statistics.median(fast),
        "probe_ms_slow": statistics.median(slow) if slow else None,
        "p": float(mannwhitneyu(slow, fast).pvalue) if both else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=300, help="blocks of 25 steps, each + a probe")
    ap.add_argument("--neighbour", action="store_true", help="one busy process beside it")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    torch.set_num_threads(1)
    stop = mp.Event()
    neighbour = mp.Process(target=_spin, args=(stop,)) if args.neighbour else None
    if neighbour:
        neighbour.start()
    try:
        figures = summarize(*measure(args.blocks))
    finally:
        stop.set()
        if neighbour:
            neighbour.join()
    where = "beside one busy neighbour" if args.neighbour else "alone"
    nan = float("nan")
    print(f"{figures['blocks']} blocks of {BLOCK_STEPS} seednet steps, {where}: "
          f"{figures['slow_blocks']} slow (median step > {SLOW}x the fast blocks')")  # fmt: skip
    print(f"  step  ms: fast blocks {figures['step_ms_fast']:.3f}, "
          f"slow blocks {figures['step_ms_slow'] or nan:.3f}")  # fmt: skip
    p = figures["p"]
    test = f"  (Mann-Whitney p = {p:.2g})" if p is not None else ""
    print(f"  probe ms: fast blocks {figures['probe_ms_fast']:.3f}, "
          f"slow blocks {figures['probe_ms_slow'] or nan:.3f}{test}")  # fmt: skip
    if p is not None:
        outside = p < 0.05 and (figures["probe_ms_slow"] or 0) > figures["probe_ms_fast"]
        verdict = (
            "the probe slowed with the steps: the slowdown comes from outside the process"
            if outside
            else "the probe did not slow with the steps: look inside the process"
        )
        print(f"  {verdict}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)


if __name__ == "__main__":
    main()
