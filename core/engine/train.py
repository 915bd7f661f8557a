"""The training loop: data stays on the device and is shuffled there; only steps are timed."""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from core.engine.activation_drift import InputDistribution, LastHiddenProbe
from core.engine.data.datasets import DataSplit
from core.engine.evaluation import Evaluation, evaluate
from core.engine.objective import Objective
from core.engine.progress import Reporter
from core.engine.result import EpochMetrics
from core.engine.timing import IntervalTimer, synchronize
from core.spec.schema import BenchSpec

TRAIN_FRACTION = 0.9  # share of the progress bar that training fills


@dataclass
class TrainOutcome:
    epochs: list[EpochMetrics] = field(default_factory=list)
    step_times_ms: list[float] = field(default_factory=list)
    train_time_s: float = 0.0
    time_to_target_s: float | None = None
    epochs_to_target: int | None = None
    steps_to_target: int | None = None  # optimizer steps, counted at the epoch that reached it
    steps_per_epoch: int = 0
    diverged: bool = False
    diverged_epoch: int | None = None
    last_evals: tuple[Evaluation, Evaluation, Evaluation] | None = None  # val eval/train, train


def autocast_for(spec: BenchSpec, device: torch.device) -> contextlib.AbstractContextManager:
    if spec.precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if spec.precision == "bf16" else torch.float16
    # The cast cache holds tensors made during capture; graphs must not depend on it.
    return torch.autocast(device_type=device.type, dtype=dtype, cache_enabled=not spec.cuda_graph)


def make_optimizer(spec: BenchSpec, params, capturable: bool) -> torch.optim.Optimizer:
    if spec.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay
        )
    cls = torch.optim.Adam if spec.optimizer == "adam" else torch.optim.AdamW
    kw = {"capturable": True} if capturable else {}
    return cls(
        params, lr=spec.lr, betas=(spec.momentum, 0.999), weight_decay=spec.weight_decay, **kw
    )


class _EagerStep:
    """One optimizer step on rows [a, b) of the epoch's shuffled training split; `keep_loss`
    then keeps its loss without syncing.

    The split is shuffled once per epoch, as one gather, and each step takes a contiguous
    slice (as airbench does): the same batches as gathering `x[perm[a:b]]` at every step,
    without a gather kernel in each timed step."""

    def __init__(self, model, opt, objective, data, autocast, scaler):
        self.model, self.opt, self.obj, self.data = model, opt, objective, data
        self.autocast, self.scaler = autocast, scaler
        self.losses: list[torch.Tensor] = []
        self.loss: torch.Tensor | None = None
        self.xs = self.ys = None

    def begin_epoch(self, perm: torch.Tensor) -> None:
        self.xs, self.ys = self.data.x_train[perm], self.data.y_train[perm]

    def __call__(self, a: int, b: int) -> None:
        xb, yb = self.xs[a:b], self.ys[a:b]
        with self.autocast:
            loss = self.obj.loss(self.model(xb), yb)
        self.opt.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.opt)
            self.scaler.update()
        else:
            loss.backward()
            self.opt.step()
        self.loss = loss

    def keep_loss(self) -> None:
        self.losses.append(self.loss.detach())

    def epoch_loss(self) -> float:
        value = torch.stack(self.losses).float().mean().item() if self.losses else math.nan
        self.losses.clear()
        return value


class _GraphedStep:
    """Forward, backward and optimizer step captured in one CUDA graph and replayed.

    The warm-up iterations that capture needs run on a snapshot that is then restored, so the
    graphed run starts from the same weights and empty optimizer state as an eager one.
    """

    def __init__(self, model, opt, objective, data, autocast, batch_size: int):
        dev = data.x_train.device
        self.idx = torch.zeros(batch_size, dtype=torch.long, device=dev)
        self.loss_sum = torch.zeros((), device=dev)
        self.steps = 0
        snapshot = {k: v.clone() for k, v in model.state_dict().items()}

        def fwd_bwd_step() -> torch.Tensor:
            with autocast:
                loss = objective.loss(model(data.x_train[self.idx]), data.y_train[self.idx])
            loss.backward()
            opt.step()
            return loss

        side = torch.cuda.Stream(dev)
        side.wait_stream(torch.cuda.current_stream(dev))
        with torch.cuda.stream(side):
            for _ in range(3):
                opt.zero_grad(set_to_none=True)
                fwd_bwd_step()
        torch.cuda.current_stream(dev).wait_stream(side)
        opt.zero_grad(set_to_none=True)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            loss = fwd_bwd_step()
            self.loss_sum += loss.detach().float()
        with torch.no_grad():
            model.load_state_dict(snapshot)
            for state in opt.state.values():
                for v in state.values():
                    if torch.is_tensor(v):
                        v.zero_()
        self.loss_sum.zero_()

    def begin_epoch(self, perm: torch.Tensor) -> None:
        self.perm = perm

    def __call__(self, a: int, b: int) -> None:
        self.idx.copy_(self.perm[a:b])  # the graph gathers from its static index buffer
        self.graph.replay()
        self.steps += 1

    def keep_loss(self) -> None:
        """The graph adds each step's loss to loss_sum itself."""

    def epoch_loss(self) -> float:
        value = (self.loss_sum / max(self.steps, 1)).item() if self.steps else math.nan
        self.loss_sum.zero_()
        self.steps = 0
        return value


def trial_step(
    model: nn.Module, data: DataSplit, objective: Objective, spec: BenchSpec, device: torch.device
) -> Callable[[], None]:
    """One training step on a copy of `model` and its own optimizer, over the first batch:
    what core.engine.threads.trial times, leaving the run's weights and optimizer state alone."""
    twin = copy.deepcopy(model).train()
    opt = make_optimizer(spec, twin.parameters(), capturable=False)
    step = _EagerStep(twin, opt, objective, data, autocast_for(spec, device), None)
    b = min(spec.batch_size, data.x_train.shape[0])
    step.begin_epoch(torch.arange(b, device=data.x_train.device))
    return lambda: step(0, b)


def train(
    model: nn.Module,
    data: DataSplit,
    objective: Objective,
    spec: BenchSpec,
    device: torch.device,
    reporter: Reporter,
    train_module: Callable | None = None,
) -> TrainOutcome:
    """Train `model` for spec.epochs; `train_module` (e.g. a compiled model) runs the steps."""
    autocast = autocast_for(spec, device)
    opt = make_optimizer(spec, model.parameters(), capturable=spec.cuda_graph)
    scaler = (
        torch.amp.GradScaler("cuda") if spec.precision == "fp16" and device.type == "cuda" else None
    )
    runner = train_module or model
    model.train()
    if spec.cuda_graph:
        step = _GraphedStep(runner, opt, objective, data, autocast, spec.batch_size)
    else:
        step = _EagerStep(runner, opt, objective, data, autocast, scaler)

    gen = torch.Generator(device=device)
    gen.manual_seed(spec.seed)
    n, b = data.x_train.shape[0], spec.batch_size
    steps_per_epoch = n // b  # the last partial batch is dropped: BN needs full batches
    timer = IntervalTimer(device)
    out = TrainOutcome(steps_per_epoch=steps_per_epoch)
    probe = LastHiddenProbe(model, data.x_val, autocast)
    probe.measure()  # the reference: the network at initialization
    for epoch in range(1, spec.epochs + 1):
        model.train()
        perm = torch.randperm(n, device=device, generator=gen)
        synchronize(device)
        t0 = time.perf_counter()
        step.begin_epoch(perm)  # in the epoch's time, outside every step's
        for i in range(steps_per_epoch):
            timer.start()
            step(i * b, (i + 1) * b)
            timer.stop()
            step.keep_loss()  # bookkeeping, outside the timed step like the progress tick
            frac = ((epoch - 1) + (i + 1) / steps_per_epoch) / spec.epochs
            reporter.tick(epoch, i + 1, frac * TRAIN_FRACTION)
        synchronize(device)
        epoch_time = time.perf_counter() - t0
        out.train_time_s += epoch_time
        train_loss = step.epoch_loss()

        m, out.last_evals = _epoch_metrics(
            model, data, objective, spec, epoch, train_loss, epoch_time, out.train_time_s,
            autocast, probe.measure(),
        )  # fmt: skip
        out.epochs.append(m)
        reporter.epoch_done(m)
        reporter.tick(epoch, steps_per_epoch, epoch / spec.epochs * TRAIN_FRACTION, force=True)
        if not math.isfinite(train_loss):
            out.diverged, out.diverged_epoch = True, epoch
            break
        target = spec.target_val_accuracy
        if (
            target is not None
            and out.epochs_to_target is None
            and m.val_accuracy is not None
            and m.val_accuracy >= target
        ):
            out.epochs_to_target, out.time_to_target_s = epoch, out.train_time_s
            out.steps_to_target = epoch * steps_per_epoch
    out.step_times_ms = timer.times_ms()
    return out


def evaluations(
    model, data, objective, spec, autocast
) -> tuple[Evaluation, Evaluation, Evaluation]:
    """Validation in eval mode, validation in train mode, training split in eval mode."""
    b = spec.batch_size
    return (
        evaluate(model, data.x_val, data.y_val, objective, False, b, autocast),
        evaluate(model, data.x_val, data.y_val, objective, True, b, autocast),
        evaluate(model, data.x_train, data.y_train, objective, False, b, autocast),
    )


def _epoch_metrics(
    model,
    data,
    objective,
    spec,
    epoch,
    train_loss,
    epoch_time,
    cum_time,
    autocast,
    drift: InputDistribution | None,
) -> tuple[EpochMetrics, tuple[Evaluation, Evaluation, Evaluation]]:
    val_eval, val_train, train_eval = evaluations(model, data, objective, spec, autocast)
    metrics = EpochMetrics(
        epoch=epoch,
        train_loss=train_loss,
        train_accuracy=train_eval.accuracy,
        val_loss=val_eval.loss,
        val_accuracy=val_eval.accuracy,
        val_loss_train_mode=val_train.loss,
        val_accuracy_train_mode=val_train.accuracy,
        val_r2=val_eval.r2,
        epoch_time_s=epoch_time,
        wall_time_s=cum_time,
        **(drift.epoch_fields() if drift is not None else {}),
    )
    return metrics, (val_eval, val_train, train_eval)
