"""Readable terminal tables for a BenchResult."""

from __future__ import annotations

from rich.console import Console, Group
from rich.table import Table

from core.engine.inference_checks import point_checks
from core.engine.result import BenchResult, InferencePoint, LayerResult, ModelResult
from core.headline import headline, num, pct


def _summary(m: ModelResult, target: float | None) -> Table:
    t = Table(title="Training", show_header=False, title_justify="left")
    t.add_column("metric", style="bold")
    t.add_column("value", justify="right")
    tp = m.throughput
    task = [(k, v) for k, v in headline(m) if k not in ("val loss", "train samples/s")]
    rows = [
        ("task", m.task),
        ("parameters", f"{m.param_count:,}"),
        ("train / val samples", f"{m.n_train:,} / {m.n_val:,}"),
        *task,
        ("train / val loss", f"{num(m.final_train_loss)} / {num(m.final_val_loss)}"),
        ("generalization gap (loss)", num(m.generalization_gap_loss)),
    ]
    if m.mode_gap.accuracy_gap is not None:
        rows.append(("mode gap: eval - train-mode acc", pct(m.mode_gap.accuracy_gap)))
    rows += [
        ("mode gap: output rel. diff", num(m.mode_gap.output_rel_diff)),
        (
            "throughput (samples/s)",
            "-"
            if tp is None
            else f"{tp.samples_per_s:,.0f}  "
            f"[IQR {tp.samples_per_s_p25:,.0f}-{tp.samples_per_s_p75:,.0f}, n={tp.step.n}]",
        ),
        ("step time median (ms)", "-" if tp is None else f"{tp.step.median_ms:.3f}"),
        (
            "contention: step p95/median, wall/steps",
            f"{num(m.step_p95_over_median, '.2f')} / {num(m.wall_over_steps, '.2f')}",
        ),
        ("train time (s)", f"{m.train_time_s:.2f}"),
        ("time / epochs to target", _to_target(m, target)),
        ("diverged", f"yes, epoch {m.diverged_epoch}" if m.diverged else "no"),
    ]
    if m.peak_memory_mb is not None:
        rows.append(("peak memory (MiB)", f"{m.peak_memory_mb:.0f}"))
    for k, v in rows:
        t.add_row(k, v)
    return t


def _to_target(m: ModelResult, target: float | None) -> str:
    if target is None:
        return "- (no target_val_accuracy set)"
    if m.epochs_to_target is None:
        return f"{target:g} not reached"
    return f"{m.time_to_target_s:.2f} s / {m.epochs_to_target} (target {target:g})"


def _epochs(m: ModelResult) -> Table:
    t = Table(title="Epochs", title_justify="left")
    regression = m.task == "regression"
    task_columns = ("val R²",) if regression else ("train acc", "val acc", "val acc (train mode)")
    columns = ("epoch", "train loss", "val loss", "val loss (train mode)", *task_columns)
    for c in (*columns, "time (s)"):
        t.add_column(c, justify="right")
    for e in m.epochs:
        task = (
            (num(e.val_r2, ".3f"),)
            if regression
            else (pct(e.train_accuracy), pct(e.val_accuracy), pct(e.val_accuracy_train_mode))
        )
        t.add_row(str(e.epoch), num(e.train_loss), num(e.val_loss),
                  num(e.val_loss_train_mode), *task, f"{e.epoch_time_s:.2f}")  # fmt: skip
    return t


def _bn(m: ModelResult) -> Table:
    t = Table(title="BN statistics: running vs population (eval-mode input)", title_justify="left")
    for c in (
        "layer",
        "features",
        "var ratio (mean)",
        "min",
        "max",
        "mean gap (σ)",
        "dropout before",
    ):
        t.add_column(c, justify="right")
    for b in m.bn_stats:
        t.add_row(
            b.name,
            str(b.num_features),
            f"{b.variance_ratio:.3f}",
            f"{b.variance_ratio_min:.3f}",
            f"{b.variance_ratio_max:.3f}",
            f"{b.mean_gap:.3f}",
            "yes" if b.preceded_by_dropout else "no",
        )
    return t


def _inference(m: ModelResult) -> Table:
    title = "Inference (eval mode)"
    if m.fold is not None:
        ok = "match" if m.fold.matches else "MISMATCH"
        title += (
            f"; BN folded in {m.fold.folded_layers} layer(s), outputs {ok} "
            f"(max |diff| {m.fold.max_abs_diff:.2e} <= tol {m.fold.tolerance:.2e})"
        )
    t = Table(title=title, title_justify="left")
    for c in ("batch", "samples/s", "p50 ms", "p95 ms", "folded samples/s", "fold speedup"):
        t.add_column(c, justify="right")
    folded = {p.batch_size: p for p in m.inference if p.folded}
    notes: list[str] = []

    def checked(p: InferencePoint) -> str:
        problems = point_checks(p.rounds.median_ms, p.rounds.iqr_ms, p.latency_p95_ms)
        notes.extend(f"! batch {p.batch_size}{' folded' * p.folded}: {q}" for q in problems)
        return "!" if problems else ""

    for p in (p for p in m.inference if not p.folded):
        f = folded.get(p.batch_size)
        mark = checked(p)
        fmark = "" if f is None else checked(f)
        t.add_row(
            str(p.batch_size),
            f"{p.samples_per_s:,.0f}{mark}",
            f"{p.latency_p50_ms:.3f}",
            f"{p.latency_p95_ms:.3f}",
            "-" if f is None else f"{f.samples_per_s:,.0f}{fmark}",
            "-" if f is None else f"{f.samples_per_s / p.samples_per_s:.2f}x{mark or fmark}",
        )
    if notes:
        t.caption = "\n".join([*notes, "a marked fold speedup divides a suspect figure"])
        t.caption_justify = "left"
    return t


def _layer(r: LayerResult) -> Table:
    t = Table(
        title=f"Layer {r.layer} ({r.mode}, {r.dtype}, shape {r.shape})",
        show_header=False,
        title_justify="left",
    )
    t.add_column("metric", style="bold")
    t.add_column("value", justify="right")
    t.add_row(
        "median time (ms)", f"{r.time.median_ms:.4f}  [IQR {r.time.iqr_ms:.4f}, n={r.time.n}]"
    )
    t.add_row("bytes moved", f"{r.bytes_moved:,}  ({r.bytes_formula})")
    t.add_row("achieved GB/s", num(r.achieved_gbps, ".2f"))
    t.add_row("copy GB/s (same run)", f"{r.copy_gbps:.2f}")
    t.add_row("roofline fraction", pct(r.roofline_fraction))
    return t


def render(result: BenchResult, console: Console) -> None:
    p = result.provenance
    where = p.gpu_name or p.cpu_model
    console.print(
        f"[bold]spec {result.spec_hash}[/] on {p.device} ({where}), torch {p.torch}, "
        f"{result.total_time_s:.1f} s"
    )
    if result.layer is not None:
        console.print(_layer(result.layer))
        return
    m = result.model
    assert m is not None
    parts = [_summary(m, result.spec.get("target_val_accuracy")), _epochs(m)]
    if m.bn_stats:
        parts.append(_bn(m))
    parts.append(_inference(m))
    console.print(Group(*parts))
