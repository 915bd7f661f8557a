"""Runner training throughput against plain hand-written PyTorch loops, side by side.

Every side trains the same model (same builder, same init seed) on the same on-device data
at the same batch size, in the same batch order (a per-epoch permutation from a generator
seeded like the runner's), and times its steps the same way: the runner's own IntervalTimer
(CUDA events on GPU, perf_counter on CPU), warm-up steps dropped. Two plain loops:

  gather  the loop anyone writes: `x[perm[a:b]]`, forward, loss, zero_grad, backward, step
  sliced  the same, but the split permuted once per epoch and sliced per step, as the runner
          (and airbench) do; the runner should match it, and cannot beat it but by noise

Rounds alternate runner, gather and sliced so drift hits all alike; each round's timed window
is at least --window-s seconds. Ratios are runner over plain, per round, mean with mean and
median with median, printed as the median over rounds with their range. Target: the
mean-based ratio against the gather loop >= 0.97.

Whole runs in separate rounds differ by more than the step does (the process, the allocator,
the neighbour), so a last line isolates the step: the runner's own step object and the
sliced loop's step take turns in blocks of steps on one model in one process (A B, then
B A), and the ratio of each block pair is summarized the same way.

    python benchmarks/harness_overhead.py [--device cpu|cuda] [--rounds 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys

import torch

from core.engine.data.datasets import load_data
from core.engine.networks import build_model
from core.engine.objective import objective_for
from core.engine.run import resolve_device, run
from core.engine.timing import IntervalTimer, synchronize
from core.engine.train import _EagerStep, autocast_for, make_optimizer
from core.spec.schema import BenchSpec

CASES = {
    "seednet b32": dict(family="seednet", batch_size=32),
    "mlp 784-1024x3 b1024": dict(
        family="mlp", synthetic_features=784, width=1024, depth=3, batch_size=1024
    ),
    "cnn 32x32 b512 bf16 cl": dict(
        family="cnn",
        synthetic_image_size=32,
        width=32,
        depth=3,
        batch_size=512,
        precision="bf16",
        channels_last=True,
    ),
}


def case_spec(fields: dict, device: str, warmup: int, timed: int) -> BenchSpec:
    steps = warmup + timed
    b = fields["batch_size"]
    samples = int(b * steps / 0.8) + b  # one epoch holds warm-up and timed steps
    return BenchSpec(
        **fields,
        device=device,
        epochs=1,
        warmup_steps=warmup,
        timed_steps=timed,
        synthetic_samples=samples,
        infer_batch_sizes=(1,),
        repeats=1,
        threads=torch.get_num_threads(),  # the plain loop's count, not one the runner tries
    )


def setup(spec: BenchSpec):
    """(device, data, objective, model) as the runner builds them: same data, init seed and
    memory format."""
    device = resolve_device(spec)
    data = load_data(spec, device)
    obj = objective_for(data.task, data.n_classes, spec.family)
    torch.manual_seed(spec.seed)
    model = build_model(spec, data.input_shape, obj.n_outputs).to(device)
    if spec.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return device, data, obj, model


def plain_loop(spec: BenchSpec, sliced: bool, steps: int | None = None) -> list[float]:
    """Step times (ms) of a plain loop over the same steps the runner times: warm-up and
    `timed_steps`, or `steps` after warm-up, going round the epoch's batches again."""
    device, data, obj, model = setup(spec)
    opt = torch.optim.SGD(model.parameters(), lr=spec.lr, momentum=spec.momentum)
    autocast = autocast_for(spec, device)
    b = spec.batch_size
    gen = torch.Generator(device=device).manual_seed(spec.seed)
    perm = torch.randperm(data.x_train.shape[0], device=device, generator=gen)
    x, y = (data.x_train[perm], data.y_train[perm]) if sliced else (data.x_train, data.y_train)
    model.train()
    timer = IntervalTimer(device)

    per_epoch = data.x_train.shape[0] // b

    def step(i: int) -> None:
        i %= per_epoch
        if sliced:
            xb, yb = x[i * b : (i + 1) * b], y[i * b : (i + 1) * b]
        else:
            idx = perm[i * b : (i + 1) * b]
            xb, yb = x[idx], y[idx]
        with autocast:
            loss = obj.loss(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    synchronize(device)
    for i in range(spec.warmup_steps + (spec.timed_steps if steps is None else steps)):
        timer.start()
        step(i)
        timer.stop()
    return timer.times_ms()[spec.warmup_steps :]


def step_ab(spec: BenchSpec, blocks: int, block_steps: int) -> dict[str, list[float]]:
    """Per block pair, plain step time over the runner's step time (mean/mean, median/median):
    the runner's _EagerStep and the sliced loop's step alternate on one model and one split."""
    device, data, obj, model = setup(spec)
    model.train()
    opt = make_optimizer(spec, model.parameters(), capturable=False)
    autocast = autocast_for(spec, device)
    step = _EagerStep(model, opt, obj, data, autocast, None)
    gen = torch.Generator(device=device).manual_seed(spec.seed)
    step.begin_epoch(torch.randperm(data.x_train.shape[0], device=device, generator=gen))
    x, y, b = step.xs, step.ys, spec.batch_size
    n_batches = x.shape[0] // b

    def plain(i: int) -> None:
        xb, yb = x[i * b : (i + 1) * b], y[i * b : (i + 1) * b]
        with autocast:
            loss = obj.loss(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def ours(i: int) -> None:
        step(i * b, (i + 1) * b)

    def block(fn) -> list[float]:
        timer = IntervalTimer(device)
        for i in range(block_steps):
            timer.start()
            fn(i % n_batches)
            timer.stop()
            if fn is ours:
                step.keep_loss()
        step.epoch_loss()
        return timer.times_ms()

    for fn in (plain, ours):
        block(fn)  # warm-up
    out: dict[str, list[float]] = {"mean": [], "median": []}
    for k in range(blocks):
        pair = {}
        for fn in (ours, plain) if k % 2 else (plain, ours):
            pair[fn] = block(fn)
        out["mean"].append(statistics.fmean(pair[plain]) / statistics.fmean(pair[ours]))
        out["median"].append(statistics.median(pair[plain]) / statistics.median(pair[ours]))
    return out


def runner(spec: BenchSpec) -> tuple[float, float]:
    """(median, mean) of the runner's timed steps, ms."""
    step = run(spec).model.throughput.step
    return step.median_ms, step.mean_ms


def timed_steps_for(fields: dict, device: str, warmup: int, timed: int, window_s: float) -> int:
    """Enough timed steps for a window of window_s seconds, from a short plain-loop probe."""
    probe = plain_loop(case_spec(fields, device, warmup, 200), sliced=True)
    return max(timed, math.ceil(window_s * 1e3 / statistics.median(probe)))


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--timed", type=int, default=30, help="at least this many timed steps")
    ap.add_argument("--window-s", type=float, default=1.0, help="at least this long a window")
    ap.add_argument("--only", action="append", help="run only cases whose name contains this")
    ap.add_argument("--blocks", type=int, default=40, help="step A/B: block pairs")
    ap.add_argument("--block-steps", type=int, default=50, help="step A/B: steps a block")
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args()

    rows = []
    for name, fields in CASES.items():
        if args.only and not any(o in name for o in args.only):
            continue
        timed = timed_steps_for(fields, args.device, args.warmup, args.timed, args.window_s)
        spec = case_spec(fields, args.device, args.warmup, timed)
        ratios: dict[str, list[float]] = {k: [] for k in
                                          ("gather_mean", "gather_median", "sliced_mean",
                                           "sliced_median")}  # fmt: skip
        runner_ms: list[float] = []
        for _ in range(args.rounds):
            r_med, r_mean = runner(spec)
            runner_ms.append(r_med)
            for kind in ("gather", "sliced"):
                ms = plain_loop(spec, sliced=kind == "sliced")
                # a ratio of throughputs: plain time over runner time
                ratios[f"{kind}_mean"].append(statistics.fmean(ms) / r_mean)
                ratios[f"{kind}_median"].append(statistics.median(ms) / r_med)
        row = {"case": name, "timed_steps": timed, "rounds": args.rounds,
               "window_s": timed * statistics.median(runner_ms) / 1e3,
               "runner_samples_per_s": spec.batch_size / statistics.median(runner_ms) * 1e3,
               **{k: spread(v) for k, v in ratios.items()}}  # fmt: skip
        if spec.precision != "fp16" and not spec.cuda_graph:
            ab = step_ab(spec, args.blocks, args.block_steps)
            row.update({f"step_ab_{k}": spread(v) for k, v in ab.items()})
        rows.append(row)
        rate = row["runner_samples_per_s"]
        print(f"{name}: {timed} timed steps (~{row['window_s']:.1f} s a round), "
              f"{args.rounds} rounds, runner {rate:,.0f} samples/s")  # fmt: skip
        for kind in ("gather", "sliced"):
            m, d = row[f"{kind}_mean"], row[f"{kind}_median"]
            print(f"  vs plain {kind:<6} mean/mean {m['median']:.3f} "
                  f"[{m['min']:.3f}-{m['max']:.3f}]  median/median {d['median']:.3f} "
                  f"[{d['min']:.3f}-{d['max']:.3f}]", flush=True)  # fmt: skip
        if "step_ab_mean" in row:
            m, d = row["step_ab_mean"], row["step_ab_median"]
            print(f"  step A/B, one process ({args.blocks} x {args.block_steps} steps) "
                  f"mean/mean {m['median']:.3f} [{m['min']:.3f}-{m['max']:.3f}]  "
                  f"median/median {d['median']:.3f} [{d['min']:.3f}-{d['max']:.3f}]",
                  flush=True)  # fmt: skip
    device = resolve_device(case_spec(CASES["seednet b32"], args.device, 1, 1))
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"device: {where}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": where, "torch": torch.__version__, "rows": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
