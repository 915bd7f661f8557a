"""Runner training throughput against a plain hand-written PyTorch loop, side by side.

Both sides train the same model (same builder, same init seed) on the same on-device data at
the same batch size. Rounds alternate runner and plain loop so drift hits both alike. The
plain loop is timed as total wall time over its steps; the runner's figure is its own
per-step timing, reported both as the median (what users see) and as the mean (what a wall
clock sees). Target: mean-based ratio >= 0.97.

    python benchmarks/harness_overhead.py [--device cpu|cuda] [--rounds 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import torch
from torch.nn import functional as F

from core.bench import resolve_device, run
from core.data import load_data
from core.models import build_model
from core.objective import objective_for
from core.spec import BenchSpec
from core.train import autocast_for

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
    )


def plain_loop(spec: BenchSpec) -> float:
    """samples/s of the loop anyone would write, over the same steps the runner times."""
    device = resolve_device(spec)
    data = load_data(spec, device)
    obj = objective_for(data.task, data.n_classes, spec.family)
    torch.manual_seed(spec.seed)
    model = build_model(spec, data.input_shape, obj.n_outputs).to(device)
    if spec.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=spec.lr, momentum=spec.momentum)
    autocast = autocast_for(spec, device)
    b = spec.batch_size
    perm = torch.randperm(data.x_train.shape[0], device=device)
    model.train()

    def step(i: int) -> None:
        idx = perm[i * b : (i + 1) * b]
        with autocast:
            out = model(data.x_train[idx])
        if obj.task == "regression":
            loss = F.mse_loss(out.float(), data.y_train[idx])
        else:
            loss = F.cross_entropy(out.float(), data.y_train[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for i in range(spec.warmup_steps):
        step(i)
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for i in range(spec.warmup_steps, spec.warmup_steps + spec.timed_steps):
        step(i)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return spec.timed_steps * b / (time.perf_counter() - t0)


def runner(spec: BenchSpec) -> tuple[float, float]:
    tp = run(spec).model.throughput
    return tp.samples_per_s, spec.batch_size / (tp.step.mean_ms / 1e3)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--timed", type=int, default=30)
    ap.add_argument("--only", action="append", help="run only cases whose name contains this")
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args()

    rows = []
    for name, fields in CASES.items():
        if args.only and not any(o in name for o in args.only):
            continue
        spec = case_spec(fields, args.device, args.warmup, args.timed)
        plain, med, mean = [], [], []
        for _ in range(args.rounds):
            plain.append(plain_loop(spec))
            r_med, r_mean = runner(spec)
            med.append(r_med)
            mean.append(r_mean)
        p = statistics.median(plain)
        row = {
            "case": name,
            "plain_samples_per_s": p,
            "runner_median_samples_per_s": statistics.median(med),
            "runner_mean_samples_per_s": statistics.median(mean),
            "ratio_mean": statistics.median(mean) / p,
            "ratio_median": statistics.median(med) / p,
            "rounds": args.rounds,
        }
        rows.append(row)
        print(
            f"{name:<24} plain {p:>10,.0f}/s  runner median "
            f"{row['runner_median_samples_per_s']:>10,.0f}/s  mean "
            f"{row['runner_mean_samples_per_s']:>10,.0f}/s  ratio(mean) "
            f"{row['ratio_mean']:.3f}  ratio(median) {row['ratio_median']:.3f}",
            flush=True,
        )
    device = resolve_device(case_spec(CASES["seednet b32"], args.device, 1, 1))
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"device: {where}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": where, "torch": torch.__version__, "rows": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
