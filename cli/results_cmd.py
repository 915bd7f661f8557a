"""`bnbench results` and `bnbench compare`: query the results database from the terminal."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn

import click
import pandas as pd
from rich.console import Console
from rich.markup import escape

from cli.query_options import build_filter, filter_options
from cli.tables import Column, count, format_option, show
from core.store.read import varying_spec_columns

SPEC_DEFAULT_COLUMNS = ("spec.family", "spec.norm", "spec.dropout_p", "spec.seed")
METRIC_HEADERS = {
    "final_val_accuracy": "val acc", "final_test_accuracy": "test acc",
    "final_val_r2": "val R²", "final_val_rmse": "val RMSE", "final_test_r2": "test R²",
    "final_val_loss": "val loss", "generalization_gap": "gen gap",
    "mode_accuracy_gap": "mode gap", "train_samples_per_s": "samples/s",
    "bn_variance_ratio": "BN var ratio", "time_to_target_s": "to target (s)",
}  # fmt: skip
NOISY_MARK = "!"
NOISE_NOTE = (
    "! its spread is over 10% of its median (IQR/median, the level at which "
    "torch.utils.benchmark warns): too noisy to compare; the load column shows a busy host"
)


def header_of(column: str) -> str:
    if column.startswith("spec."):
        return column[5:]
    return METRIC_HEADERS.get(column, column)


def resolve_metric(name: str) -> str:
    """A results column, by its name or by its header in the tables (`val R²`, `samples/s`)."""
    from difflib import get_close_matches

    from core.store.read import NUMERIC_RESULT_COLUMNS

    if name in NUMERIC_RESULT_COLUMNS:
        return name
    by_header = {h.lower(): c for c, h in METRIC_HEADERS.items()}
    if name.strip().lower() in by_header:
        return by_header[name.strip().lower()]
    near = get_close_matches(name, NUMERIC_RESULT_COLUMNS, n=3, cutoff=0.5)
    near += [c for c in NUMERIC_RESULT_COLUMNS if name in c and c not in near][:3]
    hint = f"did you mean {', '.join(near)}? " if near else ""
    raise click.BadParameter(
        f"{name!r} is not a metric; {hint}`bnbench results --format json` shows every column",
        param_hint="--metric",
    )


COMPARE_METRICS = (
    "final_val_accuracy", "best_val_accuracy", "final_val_r2", "final_val_rmse", "final_val_loss",
    "generalization_gap", "mode_accuracy_gap", "mode_output_rel_diff", "bn_variance_ratio",
    "train_samples_per_s", "step_ms_median", "time_to_target_s", "epochs_to_target",
    "train_time_s", "param_count",
)  # fmt: skip


def _fmt(v) -> str:
    """A cell: "-" for no value, 4 significant digits, thousands separated."""
    if v is None or (isinstance(v, float) and v != v) or v is pd.NaT:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"
    if hasattr(v, "strftime"):
        return v.strftime("%Y-%m-%d %H:%M")
    return str(v)


def _fail(message: str) -> NoReturn:
    Console(stderr=True).print(f"[red]error:[/] {escape(message)}", highlight=False)
    sys.exit(2)


def write_frame(df: pd.DataFrame, fmt: str, out: Path | None) -> None:
    if fmt == "parquet":
        if out is None:
            _fail("--format parquet writes binary; give --out FILE.parquet")
        try:
            df.to_parquet(out, index=False)
        except ImportError:
            _fail("parquet needs pyarrow: pip install 'bnbench[dashboard]' or pyarrow")
        return
    if fmt == "csv":  # lists as JSON ([1, 64]), as the json format and the database hold them
        text = df.map(lambda v: json.dumps(list(v)) if isinstance(v, tuple | list) else v).to_csv(
            index=False
        )
    else:
        text = df.to_json(orient="records", date_format="iso", indent=2)
    if out is None:
        click.echo(text)
    else:
        out.write_text(text)


@click.command()
@filter_options
@click.option(
    "--limit",
    type=click.IntRange(1),
    default=None,
    help="At most this many jobs, newest first [default: 50 for the table].",
)
@click.option(
    "--repeats",
    is_flag=True,
    help="One row per repeat group (same spec but seed): median, IQR, 95% CI.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "markdown", "csv", "json", "parquet"]),
    default="table",
    show_default=True,
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of stdout.",
)
def results(limit, repeats, fmt, out, **filters) -> None:
    """List recorded jobs and their figures, filtered by spec fields, status, group, GPU, time."""
    from core.store.read import compare_repeats, query_records

    if limit is None and fmt in ("table", "markdown"):
        limit = 50
    try:
        f = build_filter(**filters)
        if repeats:
            df = compare_repeats(f)
            df = df.head(limit) if limit else df
        else:
            df = pd.DataFrame.from_records(query_records(f, limit=limit))
    except ValueError as e:
        _fail(str(e))
    if fmt not in ("table", "markdown"):
        write_frame(df, fmt, out)
        return
    console = Console(file=out.open("w") if out else None)
    if df.empty:
        console.print("No matching jobs. Record one with `bnbench run --preset smoke`.")
        return
    columns, rows, notes = (repeat_rows if repeats else job_rows)(df)
    kind = "repeat group" if repeats else "job"
    show(columns, rows, count(len(df), kind), fmt, console, notes=notes)


def _metric_columns(df: pd.DataFrame, suffix: str = "") -> list[str]:
    """The table's metrics that hold a value in some row: a regression task has no accuracy."""
    return [m for m in METRIC_HEADERS if f"{m}{suffix}" in df and df[f"{m}{suffix}"].notna().any()]


PRIMARY_METRICS = ("final_val_accuracy", "final_val_r2", "final_val_loss", "train_samples_per_s")


def spec_columns(spec: list[str]) -> list[Column]:
    """What varies: the first three before the metrics at a narrow width, the rest after."""
    return [Column(c, header_of(c), 1 if i < 3 else 3, max_width=24) for i, c in enumerate(spec)]


def metric_columns(metrics: list[str]) -> list[Column]:
    return [Column(m, header_of(m), 1 if m in PRIMARY_METRICS else 2, justify="right")
            for m in metrics]  # fmt: skip


def job_rows(df: pd.DataFrame) -> tuple[list[Column], list[dict[str, str]], list[str]]:
    """One row per job: id, status, what varies between the jobs, their figures, the host."""
    from core.repeat_stats import steps_noisy

    spec = varying_spec_columns(df) or [c for c in SPEC_DEFAULT_COLUMNS if c in df]
    metrics = _metric_columns(df)
    columns = [Column("job_id", "job", 0), Column("status", "status", 0),
               *spec_columns(spec), *metric_columns(metrics),
               Column("label", "label", 2, max_width=20), Column("tags", "tags", 3, max_width=24),
               Column("load_avg_1m", "load", 4),
               Column("created_at", "created", 4), Column("device", "ran on", 5),
               Column("gpu_name", "gpu", 5, max_width=20)]  # fmt: skip
    rows, noisy = [], False
    for _, r in df.iterrows():
        row = {c.key: _fmt(r.get(c.key)) for c in columns}
        row["job_id"] = r["job_id"][:8]
        if steps_noisy(r.get("step_ms_iqr"), r.get("step_ms_median")):
            row["train_samples_per_s"] += NOISY_MARK
            noisy = True
        rows.append(row)
    note = NOISE_NOTE.replace("its spread", "its training steps' spread")
    return columns, rows, [note] if noisy else []


def repeat_rows(df: pd.DataFrame) -> tuple[list[Column], list[dict[str, str]], list[str]]:
    """One row per repeat group: what varies between groups, and each metric's median."""
    from core.repeat_stats import noisy_metrics

    spec = varying_spec_columns(df)
    metrics = _metric_columns(df, ".median")
    columns = [Column("repeat_key", "group", 0), Column("repeats", "n", 0, justify="right"),
               *spec_columns(spec), *metric_columns(metrics)]  # fmt: skip
    rows, any_noisy = [], False
    for _, r in df.iterrows():
        row = {c: _fmt(r.get(c)) for c in ("repeats", *spec)}
        row["repeat_key"] = str(r["repeat_key"])[:8]
        flagged = noisy_metrics(r, metrics)
        any_noisy |= bool(flagged)
        for m in metrics:
            row[m] = _fmt(r.get(f"{m}.median")) + (NOISY_MARK if m in flagged else "")
        rows.append(row)
    notes = ["medians over the seeds of each group; `--format csv` has IQR and 95% CI"]
    return columns, rows, [*notes, NOISE_NOTE] if any_noisy else notes


@click.command()
@click.argument("job_ids", nargs=-1)
@click.option("--group", "group_id", help="Compare the repeat groups of this group instead.")
@click.option("--metric", "metrics", multiple=True, help="Metrics to show (default: the main).")
@format_option
def compare(job_ids, group_id, metrics, fmt) -> None:
    """Side by side: the spec fields that differ, and metrics with % deltas vs the first.

    Columns are named by what differs (dropout_p=0.3); a group's are sorted by those values,
    so the first, the baseline, is the sweep's first value."""
    from core.store.read import (
        JobNotFound,
        ResultFilter,
        by_varying_fields,
        compare_repeats,
        query_records,
        resolve_job_id,
        run_labels,
    )

    asked = bool(metrics)
    metrics = tuple(resolve_metric(m) for m in metrics) or COMPARE_METRICS
    if bool(job_ids) == bool(group_id):
        _fail("give two or more JOB_IDS, or --group G")
    try:
        if group_id:
            df = by_varying_fields(compare_repeats(ResultFilter(group_id=group_id), metrics))
            names = [f"{k} (n={n})" for k, n in
                     zip(run_labels(df, "repeat_key"), df["repeats"], strict=True)]  # fmt: skip
            values = {m: df[f"{m}.median"].tolist() for m in metrics}
        else:
            if len(job_ids) < 2:
                _fail("compare needs at least two jobs")
            ids = [resolve_job_id(j) for j in job_ids]
            recs = {r["job_id"]: r for r in query_records(ResultFilter(job_ids=tuple(ids)))}
            df = pd.DataFrame.from_records([recs[i] for i in ids])
            names = run_labels(df).tolist()
            values = {m: df[m].tolist() for m in metrics}
    except (JobNotFound, ValueError) as e:
        _fail(str(e))
    if df.empty:
        _fail(f"group {group_id!r} has no succeeded jobs")
    if fmt in ("csv", "json"):
        write_frame(df, fmt, None)
        return
    columns = [Column("row", "", 0)]
    columns += [Column(f"c{i}", n, 0 if i == 0 else 1, justify="right")
                for i, n in enumerate(names)]  # fmt: skip
    rows = [{"row": header_of(c), **{f"c{i}": _fmt(v) for i, v in enumerate(df[c])}}
            for c in varying_spec_columns(df)]  # fmt: skip
    empty = []
    for m in metrics:
        vals = values[m]
        if all(v is None or v != v for v in vals):
            empty.append(m)  # a metric this task does not have (accuracy of a regression)
            continue
        row = {"row": header_of(m), "c0": _fmt(vals[0])}
        for i, v in enumerate(vals[1:], start=1):
            base, delta = vals[0], ""
            if base not in (None, 0) and v is not None and base == base and v == v:
                delta = f" ({100 * (v - base) / abs(base):+.1f}%)"
            row[f"c{i}"] = _fmt(v) + delta
        rows.append(row)
    title = "Compare" + (" (medians over repeats)" if group_id else "") + "; % vs the first"
    show(columns, rows, title, fmt)
    if asked and empty:
        click.echo(f"no value in these results: {', '.join(empty)}", err=True)
