"""The runner: one spec in, one typed BenchResult out. No queue, no database, no UI."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import torch

from core.engine.data.datasets import load_data
from core.engine.errors import BenchError
from core.engine.evaluation import bn_statistics_gap, evaluate, mode_gap, recalibrate_bn
from core.engine.host_load import LoadWindow
from core.engine.inference import benchmark_inference
from core.engine.layerbench import run_layer_bench
from core.engine.networks import build_model, param_count
from core.engine.objective import objective_for
from core.engine.progress import CancelFn, EpochFn, ProgressFn, Reporter
from core.engine.provenance import collect
from core.engine.result import BenchResult, ModelResult, Throughput
from core.engine.threads import (
    candidates,
    fastest,
    fixed_threads,
    thread_share,
    threads_for,
    torch_threads,
    trial,
)
from core.engine.timing import summarize
from core.engine.train import TRAIN_FRACTION, autocast_for, evaluations, train, trial_step
from core.spec.schema import BenchSpec

RECALIBRATION_BATCH = 256  # bn_recalibrate batches at least this large


def resolve_device(spec: BenchSpec) -> torch.device:
    """auto picks CUDA when present; an absent CUDA device is a spec error, not a crash."""
    auto = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(auto if spec.device == "auto" else spec.device)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise BenchError("device", "CUDA is not available here; use device=cpu or auto")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise BenchError(
                "device",
                f"{spec.device} does not exist ({torch.cuda.device_count()} GPUs); "
                "use cuda:0 or auto",
            )
    if spec.cuda_graph and dev.type != "cuda":
        raise BenchError("cuda_graph", "needs a CUDA device; set device=cuda or cuda_graph=false")
    if spec.gpu_model:
        name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "no GPU"
        if spec.gpu_model.lower().replace(" ", "") not in name.lower().replace(" ", ""):
            raise BenchError(
                "gpu_model",
                f"asks for {spec.gpu_model} but this worker has {name}; "
                "submit to its gpu.<model> queue or drop gpu_model",
            )
    return dev


@contextlib.contextmanager
def _determinism(enabled: bool) -> Iterator[None]:
    prev = torch.are_deterministic_algorithms_enabled()
    prev_bench = torch.backends.cudnn.benchmark
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(prev)
        torch.backends.cudnn.benchmark = prev_bench


def timed_window(step_ms: list[float], spec: BenchSpec) -> list[float]:
    """`timed_steps` of the training steps after warm-up, spread evenly over all of them.

    Every step is timed. Steps in a row make a window of tens of ms on a small model (50
    seednet steps: 18 ms), and a neighbour sharing the core for one scheduler slice slows
    the whole window: 1 run in 8 came out 17-20% slower beside a busy process. Spread over
    the run, such a slice touches a few of the steps, which the median ignores."""
    after = step_ms[spec.warmup_steps :]
    n = spec.timed_steps
    if len(after) <= n:
        return after
    if n == 1:
        return after[:1]
    return [after[round(i * (len(after) - 1) / (n - 1))] for i in range(n)]


def _throughput(step_ms: list[float], spec: BenchSpec) -> Throughput | None:
    timed = timed_window(step_ms, spec)
    if not timed:
        return None
    st = summarize(timed)
    b = spec.batch_size
    return Throughput(
        samples_per_s=b / (st.median_ms / 1e3),
        samples_per_s_p25=b / (st.p75_ms / 1e3),
        samples_per_s_p75=b / (st.p25_ms / 1e3),
        step=st,
    )


def contention(train_time_s: float, step_ms: list[float], tp: Throughput | None) -> dict:
    """Signs of a busy host in the training timings: the timed steps' p95 over their median
    (a tail of preempted steps), and training wall time over the sum of all its steps (time
    lost between steps)."""
    out: dict = {"step_p95_over_median": None, "wall_over_steps": None}
    if tp is not None and tp.step.median_ms > 0:
        out["step_p95_over_median"] = tp.step.p95_ms / tp.step.median_ms
    if step_ms and sum(step_ms) > 0:
        out["wall_over_steps"] = train_time_s * 1e3 / sum(step_ms)
    return out


def _choose_threads(model, data, objective, spec: BenchSpec, device) -> dict[int, float] | None:
    """Without a fixed count, an eager CPU run keeps the fastest count up to its share of the
    cores (core.engine.threads); the trial's random draws leave the run's own untouched."""
    share = thread_share()
    if fixed_threads(spec) is not None or share == 1 or device.type != "cpu":
        return None
    if spec.compile != "none":  # the trial times the eager model
        return None
    with torch.random.fork_rng(devices=[]):
        tried = trial(trial_step(model, data, objective, spec, device), candidates(share))
    torch.set_num_threads(fastest(tried))
    return tried


def run_model(spec: BenchSpec, device: torch.device, reporter: Reporter) -> ModelResult:
    data = load_data(spec, device)
    objective = objective_for(data.task, data.n_classes, spec.family)
    torch.manual_seed(spec.seed)
    model = build_model(spec, data.input_shape, objective.n_outputs).to(device)
    if spec.channels_last:
        model = model.to(memory_format=torch.channels_last)
    threads_tried = _choose_threads(model, data, objective, spec, device)
    compiled = None
    if spec.compile != "none":
        compiled = torch.compile(model, mode=None if spec.compile == "default" else spec.compile)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    out = train(model, data, objective, spec, device, reporter, train_module=compiled)

    val_eval, val_train, train_eval = out.last_evals
    if spec.bn_recalibrate and not out.diverged:
        # A large batch: at a small training batch the upstream BN layers would normalize
        # the re-estimation's inputs with noisy batch statistics.
        recalibrate_bn(model, data.x_train, max(spec.batch_size, RECALIBRATION_BATCH))
        val_eval, val_train, train_eval = evaluations(
            model, data, objective, spec, autocast_for(spec, device)
        )
    last = out.epochs[-1]
    bn_stats = bn_statistics_gap(model, data.x_train)
    inference, fold = benchmark_inference(
        model, data.x_val, spec, device, autocast_for(spec, device), reporter, TRAIN_FRACTION
    )
    # The final figures come from the final model: after recalibration when it ran.
    val_accs = [e.val_accuracy for e in out.epochs if e.val_accuracy is not None]
    if val_eval.accuracy is not None:
        val_accs.append(val_eval.accuracy)
    gen_gap = None
    if train_eval.accuracy is not None and val_eval.accuracy is not None:
        gen_gap = train_eval.accuracy - val_eval.accuracy
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    throughput = _throughput(out.step_times_ms, spec)
    test = None
    if data.x_test is not None:  # once, on the final model: nothing is chosen by this figure
        test = evaluate(model, data.x_test, data.y_test, objective, False, spec.batch_size,
                        autocast_for(spec, device))  # fmt: skip
    return ModelResult(
        task=data.task,
        param_count=param_count(model),
        n_train=int(data.x_train.shape[0]),
        n_val=int(data.x_val.shape[0]),
        epochs=out.epochs,
        throughput=throughput,
        train_time_s=out.train_time_s,
        final_train_accuracy=train_eval.accuracy,
        final_val_accuracy=val_eval.accuracy,
        best_val_accuracy=max(val_accs) if val_accs else None,
        final_train_loss=train_eval.loss,  # the same eval pass as every other final figure
        final_val_loss=val_eval.loss,
        generalization_gap=gen_gap,
        generalization_gap_loss=val_eval.loss - train_eval.loss,
        mode_gap=mode_gap(val_eval, val_train),
        bn_stats=bn_stats,
        time_to_target_s=out.time_to_target_s,
        epochs_to_target=out.epochs_to_target,
        diverged=out.diverged,
        diverged_epoch=out.diverged_epoch,
        inference=inference,
        fold=fold,
        peak_memory_mb=peak,
        last_hidden_shift=last.last_hidden_shift,
        n_test=None if data.x_test is None else int(data.x_test.shape[0]),
        final_test_accuracy=None if test is None else test.accuracy,
        final_test_loss=None if test is None else test.loss,
        steps_to_target=out.steps_to_target,
        final_train_r2=train_eval.r2,
        final_val_r2=val_eval.r2,
        final_val_rmse=val_eval.rmse,
        final_test_r2=None if test is None else test.r2,
        **contention(out.train_time_s, out.step_times_ms, throughput),
        threads_tried=threads_tried,
    )


def run(
    spec: BenchSpec,
    progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    on_epoch: EpochFn | None = None,
) -> BenchResult:
    """Run one benchmark. progress(epoch, step, fraction) and should_cancel() are throttled;
    on_epoch(metrics) is called once per training epoch, outside the timed steps."""
    device = resolve_device(spec)
    reporter = Reporter(progress, should_cancel, on_epoch=on_epoch)
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    window = LoadWindow()
    with _determinism(spec.deterministic), torch_threads(threads_for(spec)):
        if spec.kind == "layer":
            torch.manual_seed(spec.seed)
            model_result, layer_result = (
                None,
                run_layer_bench(
                    spec,
                    device,
                    progress=lambda **kw: reporter.tick(**kw, force=True),
                    should_cancel=should_cancel,
                ),
            )
        else:
            model_result, layer_result = run_model(spec, device, reporter), None
        provenance = collect(device)  # inside: it records the thread count the run used
    reporter.tick(spec.epochs if spec.kind == "model" else 0, 0, 1.0, force=True)
    load_avg, steal = window.finish()
    return BenchResult(
        spec_hash=spec.spec_hash(),
        spec=spec.model_dump(mode="json"),
        kind=spec.kind,
        model=model_result,
        layer=layer_result,
        provenance=provenance,
        started_at=started.isoformat(),
        finished_at=datetime.now(UTC).isoformat(),
        total_time_s=time.perf_counter() - t0,
        load_avg_1m=load_avg,
        load_avg_1m_start=window.start_load,
        cpu_steal_fraction=steal,
    )
