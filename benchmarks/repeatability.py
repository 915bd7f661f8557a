"""Repeatability: 5 identical seednet jobs, alone and beside one busy neighbour process.

For each condition it runs the article's Net (`--preset net`) through `core.engine.run.run` five
times at bnbench's default (the spec leaves `threads` null: the run tries 1, 2 ... up to
every core on a copy of the model and keeps the fastest, core.engine.threads), five times with
every core, five times with 1 thread, and the plain gather loop of
benchmarks/harness_overhead.py five times, interleaved, and prints the coefficient of
variation (stdev / mean) of each side's samples/s (batch / median step), and the counts the
default kept. For the default and 1-thread sides it also prints, from the same runs, the
figure the timed steps gave in a row right after warm-up, before they were spread over the
run (core.engine.run.timed_window): the same runs, two windows.
Target (issue 15): CV <= 5% beside the neighbour, where the plain loop gets 8-11%.

    python -m benchmarks.repeatability [--jobs 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import statistics
import time
from collections.abc import Iterator

from benchmarks.harness_overhead import plain_loop
from core.engine import run as engine_run
from core.engine.result import Throughput
from core.engine.run import run
from core.spec.presets import preset
from core.spec.schema import BenchSpec


def _spin(stop) -> None:
    while not stop.is_set():
        end = time.perf_counter() + 0.05
        while time.perf_counter() < end:
            pass


def cv(values: list[float]) -> float:
    return statistics.stdev(values) / statistics.fmean(values)


DEFAULT = "bnbench, default (tried)"
KEPT = "threads the default kept"


IN_A_ROW = "  the same runs, steps in a row"


@contextlib.contextmanager
def step_times() -> Iterator[list[list[float]]]:
    """Every training step time of the runs inside, run by run: all steps are timed."""
    seen: list[list[float]] = []
    real = engine_run._throughput

    def keep(step_ms: list[float], spec: BenchSpec) -> Throughput | None:
        seen.append(list(step_ms))
        return real(step_ms, spec)

    engine_run._throughput = keep
    try:
        yield seen
    finally:
        engine_run._throughput = real


def in_a_row(step_ms: list[float], spec: BenchSpec) -> float:
    """samples/s from the timed steps right after warm-up, the window before they were spread
    over the run (core.engine.run.timed_window)."""
    window = step_ms[spec.warmup_steps : spec.warmup_steps + spec.timed_steps]
    return spec.batch_size / statistics.median(window) * 1e3


def measure(spec: BenchSpec, jobs: int) -> dict[str, list[float]]:
    cores = os.cpu_count() or 1
    sides = {
        DEFAULT: spec,
        f"bnbench, {cores} threads": spec.with_overrides(threads=cores),
        "bnbench, 1 thread": spec.with_overrides(threads=1),
    }
    rows = [DEFAULT, DEFAULT + IN_A_ROW, *list(sides)[1:], "bnbench, 1 thread" + IN_A_ROW]
    out: dict[str, list[float]] = {name: [] for name in [*rows, "plain loop", KEPT]}
    for _ in range(jobs):
        for name, side in sides.items():
            with step_times() as seen:
                r = run(side)
            out[name].append(r.model.throughput.samples_per_s)
            if name + IN_A_ROW in out:
                out[name + IN_A_ROW].append(in_a_row(seen[-1], side))
            if name == DEFAULT:
                out[KEPT].append(r.provenance.threads)
        ms = plain_loop(spec, sliced=False)
        out["plain loop"].append(spec.batch_size / statistics.median(ms) * 1e3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=5)
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    for name in ("BNBENCH_THREADS", "OMP_NUM_THREADS"):  # the default tries up to every core
        os.environ.pop(name, None)
    spec = BenchSpec.model_validate({**preset("net"), "device": "cpu"})
    figures = {"alone": measure(spec, args.jobs)}
    stop = mp.Event()
    neighbour = mp.Process(target=_spin, args=(stop,))
    neighbour.start()
    try:
        figures["one busy neighbour"] = measure(spec, args.jobs)
    finally:
        stop.set()
        neighbour.join()
    print(f"{args.jobs} identical `--preset net` jobs (seednet, batch 32) on {os.cpu_count()} "
          "cores: CV of samples/s (stdev / mean), mean samples/s")  # fmt: skip
    for condition, sides in figures.items():
        print(f"  {condition:<19} {KEPT}: {sides[KEPT]}")
        for name, values in sides.items():
            if name == KEPT:
                continue
            print(f"  {condition:<19} {name:<40} CV {cv(values):6.1%}  "
                  f"mean {statistics.fmean(values):>9,.0f}/s")  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)


if __name__ == "__main__":
    main()
