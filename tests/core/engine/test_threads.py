"""Every run sets torch's thread count explicitly and records it, and a run on a busy host
says so in its result."""

import multiprocessing as mp
import os
import time

import torch

from core.engine.run import run
from core.engine.threads import candidates, fastest, threads_for
from core.repeat_stats import steps_noisy
from core.spec.schema import BenchSpec

TINY = dict(family="seednet", epochs=2, batch_size=32, synthetic_samples=2048, device="cpu",
            warmup_steps=5, timed_steps=40, repeats=1, infer_batch_sizes=(1,))  # fmt: skip


def test_the_spec_sets_the_thread_count_and_the_result_records_it():
    before = torch.get_num_threads()
    r = run(BenchSpec(**TINY, threads=1))
    assert r.provenance.threads == 1
    assert torch.get_num_threads() == before  # restored for whatever runs next


def test_without_the_field_the_environment_decides(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # what the worker launcher sets
    assert threads_for(BenchSpec()) == 3
    monkeypatch.setenv("BNBENCH_THREADS", "2")
    assert threads_for(BenchSpec()) == 2
    assert threads_for(BenchSpec(threads=5)) == 5
    monkeypatch.delenv("BNBENCH_THREADS")
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert threads_for(BenchSpec()) == os.cpu_count()


def test_without_a_fixed_count_a_cpu_run_keeps_the_fastest_count_of_its_share(monkeypatch):
    monkeypatch.delenv("BNBENCH_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    tried = run(BenchSpec(**TINY)).model.threads_tried
    assert sorted(tried) == [1, 2] and all(ms > 0 for ms in tried.values())
    assert run(BenchSpec(**TINY, threads=1)).model.threads_tried is None  # fixed: no trial


def test_the_trial_leaves_the_runs_weights_and_random_draws_alone(monkeypatch):
    """A run that tried counts trains exactly as one told the count it kept."""
    monkeypatch.delenv("BNBENCH_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    spec = BenchSpec(**TINY, dropout_p=0.5)
    tried = run(spec)
    told = run(spec.with_overrides(threads=tried.provenance.threads))
    assert [e.train_loss for e in tried.model.epochs] == [e.train_loss for e in told.model.epochs]
    assert tried.model.final_val_accuracy == told.model.final_val_accuracy


def test_the_trial_keeps_the_fewest_threads_within_two_percent_of_the_fastest():
    assert candidates(1) == [1] and candidates(6) == [1, 2, 4, 6] and candidates(8) == [1, 2, 4, 8]
    assert fastest({1: 1.0, 2: 0.5, 4: 0.6}) == 2
    assert fastest({1: 1.01, 2: 1.0}) == 1
    assert fastest({1: 1.03, 2: 1.0}) == 2


def test_the_thread_count_leaves_the_hash_of_older_specs_alone():
    assert BenchSpec(threads=None).spec_hash() == BenchSpec().spec_hash()
    assert BenchSpec(threads=1).spec_hash() != BenchSpec().spec_hash()


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_a_run_beside_busy_neighbours_is_flagged_noisy():
    """Neighbours busy-looping on every core (bounded: 30 s at most) against a run that
    wants every core: its steps spread far beyond 10% of their median."""
    cores = os.cpu_count() or 1
    ctx = mp.get_context("spawn")
    hogs = [ctx.Process(target=_spin, args=(30.0,), daemon=True) for _ in range(cores + 1)]
    for h in hogs:
        h.start()
    try:
        time.sleep(0.5)
        m = run(BenchSpec(**TINY, threads=cores)).model
    finally:
        for h in hogs:
            h.terminate()
    step = m.throughput.step
    assert steps_noisy(step.iqr_ms, step.median_ms), (step, m.step_p95_over_median)
    assert m.step_p95_over_median > 1.1 and m.wall_over_steps >= 1.0


def test_a_quiet_run_records_its_contention_figures():
    m = run(BenchSpec(**TINY, threads=1)).model
    assert m.step_p95_over_median >= 1.0 and m.wall_over_steps >= 1.0
