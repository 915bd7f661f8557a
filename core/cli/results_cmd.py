"""`bnbench results` and `bnbench compare`: query the results database from the terminal."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from core.cli.query_options import build_filter, filter_options
from core.results import varying_spec_columns

TABLE_COLUMNS = {
    "job_id": "job", "status": "status", "created_at": "created", "spec.family": "family",
    "spec.norm": "norm", "spec.dropout_p": "p", "spec.seed": "seed",
    "final_val_accuracy": "val acc", "generalization_gap": "gen gap",
    "mode_accuracy_gap": "mode gap", "train_samples_per_s": "samples/s",
    "device": "device", "gpu_name": "gpu", "label": "label",
}  # fmt: skip
COMPARE_METRICS = (
    "final_val_accuracy", "best_val_accuracy", "final_val_loss", "generalization_gap",
    "mode_accuracy_gap", "mode_output_rel_diff", "bn_variance_ratio", "train_samples_per_s",
    "step_ms_median", "time_to_target_s", "epochs_to_target", "train_time_s", "param_count",
)  # fmt: skip


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "-"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"
    if hasattr(v, "strftime"):
        return v.strftime("%Y-%m-%d %H:%M")
    return str(v)


def _fail(message: str) -> None:
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
    if fmt == "csv":
        text = df.to_csv(index=False)
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
    type=click.Choice(["table", "csv", "json", "parquet"]),
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
    from core.results import compare_repeats, query_records

    try:
        f = build_filter(**filters)
        if repeats:
            df = compare_repeats(f)
        else:
            if limit is None and fmt == "table":
                limit = 50
            df = pd.DataFrame.from_records(query_records(f, limit=limit))
    except ValueError as e:
        _fail(str(e))
    if fmt != "table":
        write_frame(df, fmt, out)
        return
    console = Console()
    if df.empty:
        console.print("No matching jobs. Record one with `bnbench run --preset smoke`.")
        return
    cols = list(TABLE_COLUMNS)
    head = []
    if repeats:
        head = ["repeat_key", "repeats", *varying_spec_columns(df)]
        cols = [c for c in df.columns if c.endswith(".median")]
    t = Table(title=f"{len(df)} {'groups' if repeats else 'jobs'}", title_justify="left")
    for c in head + cols:
        t.add_column(TABLE_COLUMNS.get(c, c), overflow="fold")
    for _, row in df.iterrows():
        cells = [escape(_fmt(row.get(c))) for c in head + cols]
        if not repeats:
            cells[0] = cells[0][:8]
        t.add_row(*cells)
    console.print(t)


@click.command()
@click.argument("job_ids", nargs=-1)
@click.option("--group", "group_id", help="Compare the repeat groups of this group instead.")
@click.option("--metric", "metrics", multiple=True, help="Metrics to show (default: the main).")
def compare(job_ids, group_id, metrics) -> None:
    """Side by side: the spec fields that differ, and metrics with % deltas vs the first."""
    from core.results import (
        JobNotFound,
        ResultFilter,
        compare_repeats,
        query_records,
        resolve_job_id,
    )

    metrics = tuple(metrics) or COMPARE_METRICS
    if bool(job_ids) == bool(group_id):
        _fail("give two or more JOB_IDS, or --group G")
    try:
        if group_id:
            df = compare_repeats(ResultFilter(group_id=group_id), metrics)
            names = [
                f"{k[:8]} (n={n})" for k, n in zip(df["repeat_key"], df["repeats"], strict=True)
            ]
            values = {m: df[f"{m}.median"].tolist() for m in metrics}
        else:
            if len(job_ids) < 2:
                _fail("compare needs at least two jobs")
            ids = [resolve_job_id(j) for j in job_ids]
            recs = {r["job_id"]: r for r in query_records(ResultFilter(job_ids=tuple(ids)))}
            df = pd.DataFrame.from_records([recs[i] for i in ids])
            names = [i[:8] for i in ids]
            values = {m: df[m].tolist() for m in metrics}
    except (JobNotFound, ValueError) as e:
        _fail(str(e))
    if df.empty:
        _fail(f"group {group_id!r} has no succeeded jobs")
    t = Table(
        title="Compare" + (" (medians over repeats)" if group_id else ""), title_justify="left"
    )
    t.add_column("")
    for n in names:
        t.add_column(n, justify="right")
    differing = varying_spec_columns(df)
    for c in differing:
        t.add_row(f"[cyan]{escape(c)}[/]", *[escape(_fmt(v)) for v in df[c]])
    if not differing:
        t.add_row("[cyan]spec[/]", *["identical"] * len(names))
    t.add_section()
    for m in metrics:
        vals = values[m]
        base = vals[0]
        cells = [_fmt(vals[0])]
        for v in vals[1:]:
            delta = ""
            if base not in (None, 0) and v is not None and base == base and v == v:
                delta = f" ({100 * (v - base) / abs(base):+.1f}%)"
            cells.append(_fmt(v) + delta)
        t.add_row(m, *cells)
    Console().print(t)
