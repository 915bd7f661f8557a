"""Altair charts with labelled axes and units."""

from __future__ import annotations

import altair as alt
import pandas as pd

from core.suites.claims import tested_arms


def curves(df: pd.DataFrame, y: str, x: str, y_title: str, x_title: str) -> alt.Chart:
    """Learning curves, one line per run (labelled by what sets it apart)."""
    return (
        alt.Chart(df)
        .mark_line(point=True)
        .encode(
            x=alt.X(x, title=x_title),
            y=alt.Y(y, title=y_title),
            color=alt.Color("run:N", title="run", sort=list(dict.fromkeys(df["run"]))),
            tooltip=["run", x, y],
        )
    )


def has(df: pd.DataFrame, column: str) -> bool:
    """A column with at least one value: a regression task records no accuracy, and a
    classification no R²."""
    return column in df and df[column].notna().any()


def learning_curves(df: pd.DataFrame, x: str = "epoch", x_title: str = "epoch") -> list:
    """The task's own curves: validation accuracy where it has one, else validation R², and
    the losses (train mode training loss, eval mode validation loss), one line per run and
    split."""
    out = []
    if has(df, "val_accuracy"):
        out.append(curves(df, "val_accuracy", x, "validation accuracy (eval mode)", x_title))
    elif has(df, "val_r2"):
        out.append(curves(df, "val_r2", x, "validation R² (eval mode)", x_title))
    losses = df.melt(
        id_vars=["run", x], value_vars=[c for c in ("train_loss", "val_loss") if has(df, c)],
        var_name="split", value_name="loss",
    ).dropna()  # fmt: skip
    if not losses.empty:
        losses["split"] = losses["split"].str.replace("_loss", "")
        out.append(
            alt.Chart(losses)
            .mark_line(point=True)
            .encode(
                x=alt.X(x, title=x_title),
                y=alt.Y("loss:Q", title="loss (train: train mode; val: eval mode)"),
                color=alt.Color("run:N", title="run", sort=list(dict.fromkeys(df["run"]))),
                strokeDash=alt.StrokeDash("split:N", title="split"),
                tooltip=["run", "split", x, "loss"],
            )
        )
    return out


def input_bands(df: pd.DataFrame, by: str = "run") -> alt.LayerChart | None:
    """Ioffe & Szegedy's figure 1 per epoch: unit 0's 15th-85th percentile band and median of
    its input to the last hidden activation, one color per `by` (the mean where several
    runs share one); None when no run recorded it."""
    cols = ["last_hidden_p15", "last_hidden_p50", "last_hidden_p85"]
    if not {*cols, by, "epoch"} <= set(df.columns):
        return None
    df = df.dropna(subset=["last_hidden_p50"])
    if df.empty:
        return None
    g = df.groupby([by, "epoch"], as_index=False)[cols].mean()
    base = alt.Chart(g).encode(x=alt.X("epoch:Q", title="epoch"), color=alt.Color(f"{by}:N"))
    band = base.mark_area(opacity=0.25).encode(
        y=alt.Y("last_hidden_p15:Q", title="input to the last hidden activation (unit 0)"),
        y2="last_hidden_p85:Q",
    )
    median = base.mark_line(point=True).encode(y="last_hidden_p50:Q", tooltip=[by, "epoch", *cols])
    return band + median


def experiment_charts(exp, df: pd.DataFrame | None, curves) -> list:
    """The evidence charts of a suite experiment: its metric by arm, and where the experiment
    names one, an epoch-level chart; `curves(job_ids)` returns the runs' epoch rows."""
    if df is None or df.empty:
        return []
    out = []
    if exp.evidence and exp.evidence in df.columns:
        out.append(evidence(df, exp.evidence))
    test = getattr(exp, "test", None)
    if test is not None and getattr(test, "paired", True):
        arms = list(tested_arms(test))
        if len(arms) >= 2 and {"spec.seed", getattr(test, "metric", "")} <= set(df.columns):
            out.append(per_seed(df, arms, test.metric))
    if exp.epoch_evidence == "last_hidden_inputs" and "job_id" in df.columns:
        epochs = curves(tuple(df["job_id"]))
        if not epochs.empty:
            epochs = epochs.merge(df[["job_id", "arm"]], on="job_id")
            out.append(input_bands(epochs, by="arm"))
    return [c for c in out if c is not None]


def per_seed(df: pd.DataFrame, arms: list[str], metric: str) -> alt.Chart | None:
    """The paired evidence: one line per seed across the tested arms, so a reader sees
    whether the arms move together (a seed effect) or apart (the arm effect)."""
    rows = df[df["arm"].isin(arms)][["arm", "spec.seed", metric]].dropna()
    if rows.empty:
        return None
    rows = rows.rename(columns={"spec.seed": "seed"})
    return (
        alt.Chart(rows)
        .mark_line(point=True)
        .encode(
            x=alt.X("arm:N", title=None, sort=arms),
            y=alt.Y(f"{metric}:Q", title=f"{metric}, per seed", scale=alt.Scale(zero=False)),
            detail="seed:N",
            color=alt.Color("seed:N", title="seed"),
            tooltip=["seed", "arm", metric],
        )
    )


def bars_with_iqr(
    df: pd.DataFrame, x: str, value: str, low: str, high: str, title: str
) -> alt.LayerChart:
    """Bars of `value` with error bars from `low` to `high` (IQR or a CI)."""
    base = alt.Chart(df).encode(x=alt.X(f"{x}:N", title=None, sort=None))
    bars = base.mark_bar().encode(y=alt.Y(f"{value}:Q", title=title), tooltip=[x, value, low, high])
    err = base.mark_errorbar().encode(y=alt.Y(f"{low}:Q", title=title), y2=f"{high}:Q")
    return bars + err


def scatter(df: pd.DataFrame, x: str, y: str, x_title: str, y_title: str) -> alt.Chart:
    return (
        alt.Chart(df)
        .mark_circle(size=90)
        .encode(
            x=alt.X(x, title=x_title),
            y=alt.Y(y, title=y_title),
            color=alt.Color("run:N", title="job"),
            tooltip=["run", x, y],
        )
    )


def grouped_bars(df: pd.DataFrame, x: str, y: str, color: str, y_title: str) -> alt.Chart:
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X(f"{x}:N", title=None),
            xOffset=f"{color}:N",
            y=alt.Y(f"{y}:Q", title=y_title),
            color=alt.Color(f"{color}:N"),
            tooltip=[x, color, y],
        )
    )


def evidence(df: pd.DataFrame, metric: str) -> alt.LayerChart | None:
    """An experiment's metric by arm: mean bars with the 95% CI over seeds."""
    from core.repeat_stats import describe

    rows = []
    for arm, g in df.groupby("arm"):
        s = describe(pd.to_numeric(g[metric], errors="coerce").to_numpy(dtype=float))
        if s["n"]:
            low = s["mean"] if pd.isna(s["ci_low"]) else s["ci_low"]
            high = s["mean"] if pd.isna(s["ci_high"]) else s["ci_high"]
            rows.append({"arm": arm, metric: s["mean"], "ci_low": low, "ci_high": high})
    if not rows:
        return None
    return bars_with_iqr(
        pd.DataFrame(rows),
        "arm",
        metric,
        "ci_low",
        "ci_high",
        f"{metric} (mean, 95% CI over seeds)",
    )


def sweep_summary(df: pd.DataFrame, field: str, metric: str, by: str | None) -> pd.DataFrame:
    """Per value of `field` (and of `by`): the mean of `metric` over repeats and its 95% CI
    (core.repeat_stats.describe; on the log scale for timings, so the band stays positive)."""
    from core.repeat_stats import describe, is_timing

    keys = [field, *([by] if by else [])]
    rows = []
    for key, g in df.groupby(keys, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        s = describe(pd.to_numeric(g[metric], errors="coerce").to_numpy(float), is_timing(metric))
        if s["n"]:
            low = s["mean"] if pd.isna(s["ci_low"]) else s["ci_low"]
            high = s["mean"] if pd.isna(s["ci_high"]) else s["ci_high"]
            rows.append({**dict(zip(keys, key, strict=True)), "mean": s["mean"], "n": s["n"],
                         "ci_low": low, "ci_high": high})  # fmt: skip
    return pd.DataFrame(rows)


def _plain(column: str | None) -> str | None:
    """A column name Vega-Lite reads as one field: a dot would mean a nested one."""
    return None if column is None else column.removeprefix("spec.").replace(".", "_")


def sweep(df: pd.DataFrame, field: str, metric: str, by: str | None = None) -> alt.LayerChart:
    """`metric` against a swept spec field: every job as a dot, the mean over repeats as a
    line, and its 95% CI as a band; one color per value of `by` when a second field varies."""
    names = {c: _plain(c) for c in (field, by, metric) if c}
    df = df.rename(columns=names)
    field, by, metric = names[field], names.get(by) if by else None, names[metric]
    x = alt.X(f"{field}:Q", title=field)
    color = alt.Color(f"{by}:N", title=by) if by else alt.value("#4c78a8")
    summary = sweep_summary(df, field, metric, by)
    y_scale = alt.Scale(zero=False)
    base = alt.Chart(summary).encode(x=x, color=color)
    band = base.mark_area(opacity=0.2).encode(
        y=alt.Y("ci_low:Q", title=metric, scale=y_scale), y2="ci_high:Q"
    )
    line = base.mark_line(point=False).encode(
        y="mean:Q", tooltip=[field, *([by] if by else []), "mean", "ci_low", "ci_high", "n"]
    )
    dots = (
        alt.Chart(df.dropna(subset=[metric])[["run", field, metric, *([by] if by else [])]])
        .mark_circle(size=50, opacity=0.7)
        .encode(
            x=x,
            y=alt.Y(f"{metric}:Q", title=metric, scale=y_scale),
            color=color,
            tooltip=["run", field, metric],
        )
    )
    return (band + line + dots).properties(height=320)


def parallel(df: pd.DataFrame, fields: list[str], metric: str) -> alt.Chart:
    """Parallel coordinates of a sweep over several fields: one line per job through its
    values (each axis scaled to its own range), colored by `metric`."""
    names = {c: _plain(c) for c in [*fields, metric]}
    d = df[["job_id", "run", *names]].rename(columns=names).dropna(subset=[names[metric]])
    cols, metric = list(names.values()), names[metric]
    for c in cols:
        v = pd.to_numeric(d[c], errors="coerce")
        if v.isna().any():  # text values: their order of appearance
            v = d[c].astype("category").cat.codes.astype(float)
        span = v.max() - v.min()
        d[f"{c}__scaled"] = (v - v.min()) / span if span else 0.5
    long = d.melt(id_vars=["job_id", "run", metric], value_vars=[f"{c}__scaled" for c in cols],
                  var_name="axis", value_name="position")  # fmt: skip
    long["axis"] = long["axis"].str.removesuffix("__scaled")
    order = cols
    return (
        alt.Chart(long)
        .mark_line(opacity=0.7)
        .encode(
            x=alt.X("axis:N", sort=order, title=None),
            y=alt.Y("position:Q", axis=None),
            detail="job_id:N",
            color=alt.Color(f"{metric}:Q", scale=alt.Scale(scheme="viridis")),
            tooltip=["run", metric],
        )
    )
