"""What measuring costs per epoch, against the epoch's own training time, side by side.

After every epoch the runner evaluates (validation in eval and train mode, the training split
in eval mode) and probes the last hidden layer's input distribution. None of it is inside
the timed steps, so throughput figures are unaffected; this script says how much wall time
it adds. Each figure is the median of several epochs of one run.

    python benchmarks/measurement_overhead.py [--device cpu|cuda] [--epochs 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from core.engine.activation_drift import LastHiddenProbe
from core.engine.data.datasets import load_data
from core.engine.networks import build_model
from core.engine.objective import objective_for
from core.engine.run import resolve_device
from core.engine.timing import synchronize
from core.engine.train import autocast_for, evaluations, train
from core.spec.schema import BenchSpec

CASES = {
    "seednet (the article's Net)": dict(family="seednet", batch_size=32),
    "mlp 3x100 sigmoid, digits": dict(
        family="mlp", dataset="digits", depth=3, width=100, activation="sigmoid", batch_size=64
    ),
    "mlp 2x256, synthetic 8192": dict(
        family="mlp", depth=2, width=256, synthetic_samples=8192, batch_size=64
    ),
}


def _median_s(fn, repeats: int, device: torch.device) -> float:
    times = []
    for _ in range(repeats):
        synchronize(device)
        t0 = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(name: str, fields: dict, device_name: str, epochs: int) -> dict:
    from core.engine.progress import Reporter

    spec = BenchSpec(**fields, device=device_name, epochs=epochs, warmup_steps=1, timed_steps=5)
    device = resolve_device(spec)
    data = load_data(spec, device)
    objective = objective_for(data.task, data.n_classes, spec.family)
    torch.manual_seed(spec.seed)
    model = build_model(spec, data.input_shape, objective.n_outputs).to(device)
    out = train(model, data, objective, spec, device, Reporter(None, None))
    epoch_s = statistics.median(e.epoch_time_s for e in out.epochs)
    autocast = autocast_for(spec, device)
    eval_s = _median_s(lambda: evaluations(model, data, objective, spec, autocast), 5, device)
    probe = LastHiddenProbe(model, data.x_val, autocast)
    probe_s = _median_s(probe.measure, 5, device)
    return {"case": name, "epoch_ms": 1e3 * epoch_s, "eval_ms": 1e3 * eval_s,
            "probe_ms": 1e3 * probe_s}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--epochs", type=int, default=5)
    args = ap.parse_args()
    print(f"{'case':<28}{'epoch ms':>10}{'evals ms':>10}{'probe ms':>10}"
          f"{'evals/epoch':>13}{'probe/epoch':>13}")  # fmt: skip
    for name, fields in CASES.items():
        r = measure(name, fields, args.device, args.epochs)
        e = r["epoch_ms"]
        print(f"{r['case']:<28}{e:>10.1f}{r['eval_ms']:>10.1f}{r['probe_ms']:>10.2f}"
              f"{r['eval_ms'] / e:>13.3f}{r['probe_ms'] / e:>13.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
