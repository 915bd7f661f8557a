"""The BN-fold speedup under a busy host: unfolded then folded (how bnbench measured before)
against the two taking turns round by round (how it measures now), side by side.

Each trial times the article's Net (Linear 10-20, BN, ReLU, Dropout, Linear) and its folded
copy at one batch size, both ways, while background processes burn the CPU in bursts. The
true speedup is the same for both, so a method is as good as its share of trials more than
10% off the median of all of them. For the alternating method it also reports how many of
its off trials `core.engine.inference_checks` marks as suspect (caught), and how many good trials
it marks (false alarms).

    python benchmarks/fold_alternation.py [--trials 30] [--batch 64] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import time

import numpy as np
import torch

from core.engine.folding import fold_batchnorm
from core.engine.inference_checks import point_checks
from core.engine.networks import build_model
from core.engine.timing import alternating_per_call, alternating_rounds, summarize, time_rounds
from core.spec.schema import BenchSpec


def _burst(stop: mp.Event, busy_s: float, idle_s: float) -> None:
    while not stop.is_set():
        end = time.perf_counter() + busy_s
        while time.perf_counter() < end:
            pass
        time.sleep(idle_s)


def _speedup(unfolded_ms: list[float], folded_ms: list[float]) -> float:
    return statistics.median(unfolded_ms) / statistics.median(folded_ms)


def trial(fns, x_calls: int, rounds: int, device) -> dict:
    seq = [time_rounds(fn, device, 3, x_calls, rounds) for fn in fns]
    alt = alternating_rounds(fns, device, 3, x_calls, rounds)
    lat = alternating_per_call(fns, device, 0, x_calls)
    rounds, calls = [summarize(r) for r in alt], [summarize(t) for t in lat]
    suspect = any(
        point_checks(r.median_ms, r.iqr_ms, t.p95_ms) for r, t in zip(rounds, calls, strict=True)
    )
    return {"sequential": _speedup(*seq), "alternating": _speedup(*alt), "suspect": suspect}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--calls", type=int, default=30, help="calls per round")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--hogs", type=int, default=3, help="background processes")
    ap.add_argument("--busy-ms", type=float, default=8.0, help="each hog's burst")
    ap.add_argument("--idle-ms", type=float, default=12.0, help="each hog's pause")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    torch.set_num_threads(1)
    device = torch.device("cpu")
    spec = BenchSpec(family="seednet", device="cpu")
    model = build_model(spec, (10,), 1).eval()
    folded, n, _ = fold_batchnorm(model)
    x = torch.randn(args.batch, 10)
    fns = [lambda: model(x), lambda: folded(x)]
    stop = mp.Event()
    burst = (stop, args.busy_ms / 1e3, args.idle_ms / 1e3)
    hogs = [mp.Process(target=_burst, args=burst) for _ in range(args.hogs)]
    for h in hogs:
        h.start()
    try:
        with torch.inference_mode():
            trials = [trial(fns, args.calls, args.rounds, device) for _ in range(args.trials)]
    finally:
        stop.set()
        for h in hogs:
            h.join()
    out: dict = {"batch": args.batch, "trials": args.trials, "folded_layers": n}
    center = float(np.median([t[m] for t in trials for m in ("sequential", "alternating")]))
    for method in ("sequential", "alternating"):
        s = np.array([t[method] for t in trials])
        off = np.abs(s / center - 1) > 0.10
        out[method] = {
            "median": float(np.median(s)), "off_by_10pct": int(off.sum()),
            "min": float(s.min()), "max": float(s.max()),
        }  # fmt: skip
        if method == "alternating":
            flagged = np.array([t["suspect"] for t in trials])
            out["caught"] = int((off & flagged).sum())
            out["false_alarms"] = int((~off & flagged).sum())
    print(f"fold speedup of the article's Net at batch {args.batch}, {args.trials} trials, "
          f"{args.rounds} rounds x {args.calls} calls, {args.hogs} background processes "
          f"busy {args.busy_ms} ms / idle {args.idle_ms} ms; "
          f"all trials' median {center:.2f}x")  # fmt: skip
    for name in ("sequential", "alternating"):
        m = out[name]
        print(f"  {name:<12} median {m['median']:.2f}x  off by >10%: {m['off_by_10pct']:>3} of "
              f"{args.trials}  range {m['min']:.2f}x-{m['max']:.2f}x")  # fmt: skip
    off = out["alternating"]["off_by_10pct"]
    print(f"  alternating, marked suspect: {out['caught']} of its {off} off trials, "
          f"and {out['false_alarms']} good ones")  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
