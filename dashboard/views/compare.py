"""Compare: curves, throughput, gaps and BN statistics of jobs side by side, with deltas."""

from __future__ import annotations

import zlib

import pandas as pd
import streamlit as st

from core.store.read import by_varying_fields, run_labels, varying_spec_columns
from dashboard import charts, data, tables
from dashboard.safe_text import plain_text

METRICS = {
    "final_val_accuracy": "val accuracy",
    "final_val_r2": "val R²",
    "final_val_rmse": "val RMSE",
    "generalization_gap": "generalization gap",
    "mode_accuracy_gap": "mode gap (eval - train acc)",
    "mode_output_rel_diff": "mode output rel. diff",
    "bn_variance_ratio": "BN variance ratio",
    "train_samples_per_s": "train samples/s",
    "time_to_target_s": "time to target (s)",
    "final_val_loss": "val loss",
}


BASELINE = "Baseline for % deltas (default: the sweep's first value)"


def parse_filter(text: str) -> tuple[tuple[str, object], ...]:
    """'norm=batchnorm, dropout_p=0.5' -> (("norm", "batchnorm"), ("dropout_p", 0.5))."""
    from core.spec.parse import parse_override

    items = [part.strip() for part in text.split(",") if part.strip()]
    return tuple(parse_override(item) for item in items)


def select_jobs() -> pd.DataFrame:
    if linked := st.query_params.get("jobs"):  # a link from `bnbench regressions` or History
        ids = tuple(i for i in linked.split(",") if i)
        st.caption(f"The {len(ids)} jobs of the link. Clear the URL's query to pick others.")
        return data.guarded(data.jobs_by_id, ids, default=pd.DataFrame())
    groups = data.guarded(data.groups, default=[])
    c1, c2 = st.columns([1, 2])
    group = c1.selectbox("Group", ["(pick jobs)", *groups], key="cmp_group")
    where = st.text_input(
        "Or filter by spec fields",
        key="cmp_filter",
        placeholder="norm=batchnorm, dropout_p=0.5",
        help="Comma-separated field=value pairs; jobs must match all.",
    )
    if group != "(pick jobs)":
        return data.guarded(data.jobs, ("succeeded",), group, None, 10_000, default=pd.DataFrame())
    if where.strip():
        try:
            return data.guarded(data.jobs_where, parse_filter(where), default=pd.DataFrame())
        except ValueError as e:
            st.error(f"Filter: {e}")
            return pd.DataFrame()
    recent = data.guarded(data.jobs, ("succeeded",), limit=500, default=pd.DataFrame())
    if recent.empty:
        return recent
    labels = dict(
        zip(
            recent["job_id"],
            recent["job_id"].str[:8] + " " + recent["label"].fillna(""),
            strict=True,
        )
    )
    # The newest job's kind only: a layer benchmark beside a model run compares nothing.
    same = recent[recent["kind"] == recent["kind"].iloc[0]] if "kind" in recent else recent
    default = same["job_id"].head(3).tolist()
    picked = c2.multiselect(
        "Jobs (the 500 most recent)",
        list(labels),
        default=default,
        format_func=labels.get,
        key="cmp_jobs",
    )
    return recent[recent["job_id"].isin(picked)]


def figures_table(df: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """A row per run with the metrics this task has, % deltas against the baseline, and a
    mark on training throughput whose steps spread over 10% of their median."""
    from core.repeat_stats import steps_noisy

    base = df[df["run"] == baseline].iloc[0]
    metrics = {m: t for m, t in METRICS.items() if m in df and df[m].notna().any()}
    rows = []
    for _, r in df.iterrows():
        noisy = steps_noisy(r.get("step_ms_iqr"), r.get("step_ms_median"))
        # next to the run's name: a wide table scrolls its last columns out of sight
        row = {"run": r["run"], "timing": "noisy: step IQR > 10% of median" if noisy else "ok"}
        for m, title in metrics.items():
            v, b = r.get(m), base.get(m)
            row[title] = v
            if r["run"] != baseline and pd.notna(v) and pd.notna(b) and b:
                row[f"{title} Δ%"] = 100 * (v - b) / abs(b)
        rows.append(row)
    return pd.DataFrame(rows)


HOST_COLUMNS = {
    "threads": "threads",
    "load_avg_1m_start": "load at start",
    "load_avg_1m": "load at end",
    "cpu_steal_fraction": "CPU steal",
    "step_p95_over_median": "step p95 / median",
    "wall_over_steps": "wall / steps",
}


def host_section(df: pd.DataFrame) -> None:
    """Where each run's timings came from: a busy host reads slow, not a slower network."""
    cols = [c for c in HOST_COLUMNS if c in df and df[c].notna().any()]
    if not cols:
        return
    with st.expander("Host and contention: threads, load, and how steady the steps were"):
        st.caption(
            "A step p95 well over its median is a tail of preempted steps; wall / steps over 1 "
            "is time lost between steps; a load above the cores means the run shared them."
        )
        tables.show(df[["run", *cols]].rename(columns=HOST_COLUMNS))


def swept_fields(df: pd.DataFrame) -> list[str]:
    """The varying spec fields with numeric values: the x axis of a sweep plot."""
    out = []
    for c in varying_spec_columns(df):
        if pd.to_numeric(df[c], errors="coerce").notna().all():
            out.append(c)
    return out


def sweep_section(df: pd.DataFrame) -> None:
    fields = swept_fields(df)
    varying = varying_spec_columns(df)
    metrics = [m for m in METRICS if m in df and df[m].notna().any()]
    if not fields or not metrics:
        return
    st.subheader("Across the sweep")
    c1, c2 = st.columns(2)
    field = c1.selectbox("x: swept field", fields, format_func=lambda c: c[5:], key="cmp_x")
    metric = c2.selectbox("y: metric", metrics, format_func=METRICS.get, key="cmp_y")
    others = [c for c in varying if c != field]
    by = others[0] if len(others) == 1 else None
    st.altair_chart(charts.sweep(df, field, metric, by), width="stretch")
    st.caption("Dots: jobs. Line: the mean over seeds. Band: its 95% CI (t; log scale for "
               "timings), where a value has two seeds or more.")  # fmt: skip
    if len(others) > 1 or (len(others) == 1 and len(varying) >= 2 and len(fields) >= 2):
        st.markdown("**Parallel coordinates** (one line per job, colored by the metric)")
        st.altair_chart(charts.parallel(df, varying, metric), width="stretch")


def render() -> None:
    st.title("Compare")
    df = select_jobs()
    if df.empty:
        st.info(
            "No finished jobs to compare yet. Submit some on [Submit](/submit); the "
            "article's three networks run with `bnbench up`."
        )
        return
    df = by_varying_fields(df, include_seed=True)
    df = df.assign(run=run_labels(df).to_numpy())
    diff = varying_spec_columns(df, include_seed=True)
    st.subheader("What differs")
    if diff:
        tables.show(df[["run", *diff]])
    else:
        st.caption("The specs are identical (seeds aside).")

    sweep_section(df)

    st.subheader("Figures")
    runs = df["run"].tolist()
    # keyed by the runs: other jobs start again from their first, the sweep's first value
    key = f"cmp_baseline_{zlib.crc32('|'.join(runs).encode())}"
    baseline = st.selectbox(BASELINE, runs, key=key)
    base_tp = df.loc[df["run"] == baseline, "train_samples_per_s"].iloc[0]
    cards = st.columns(min(len(df), 4))
    for col, (_, r) in zip(cards, df.head(4).iterrows(), strict=False):
        tp = r["train_samples_per_s"]
        delta = None
        if r["run"] != baseline and pd.notna(tp) and pd.notna(base_tp) and base_tp:
            delta = f"{100 * (tp - base_tp) / base_tp:+.1f}% vs baseline"
        col.metric(
            f"{plain_text(r['run'])}: training throughput",
            "-" if pd.isna(tp) else f"{tp:,.0f}/s",
            delta,
        )
    tables.show(figures_table(df, baseline), width="stretch")
    host_section(df)
    st.download_button(
        "Download CSV", df.to_csv(index=False).encode(), "bnbench-compare.csv", "text/csv"
    )

    ids = tuple(df["job_id"])
    names = dict(zip(df["job_id"], df["run"], strict=True))
    curves = data.guarded(data.curves, ids, default=pd.DataFrame())
    if not curves.empty:
        curves = curves.assign(run=curves["job_id"].map(names))
        curves = curves.sort_values("run", key=lambda s: s.map({r: i for i, r in enumerate(runs)}))
        st.subheader("Learning curves")
        for col, chart in zip(st.columns(2), charts.learning_curves(curves), strict=False):
            col.altair_chart(chart, width="stretch")

    st.subheader("Throughput and the train/eval gap")
    c1, c2 = st.columns(2)
    tp = df.dropna(subset=["train_samples_per_s"])
    if not tp.empty:
        c1.altair_chart(
            charts.bars_with_iqr(
                tp,
                "run",
                "train_samples_per_s",
                "train_samples_per_s_p25",
                "train_samples_per_s_p75",
                "training throughput (samples/s, IQR)",
            ),
            width="stretch",
        )
    gaps = df.melt(
        id_vars=["run"],
        value_vars=["generalization_gap", "mode_accuracy_gap"],
        var_name="gap",
        value_name="accuracy points",
    ).dropna()
    if not gaps.empty:
        c2.altair_chart(
            charts.grouped_bars(
                gaps, "run", "accuracy points", "gap", "gap (fraction of accuracy)"
            ),
            width="stretch",
        )
    elif charts.has(df, "generalization_gap_loss"):  # a regression: its gap is in loss
        c2.altair_chart(
            charts.grouped_bars(
                df.assign(gap="val - train loss").dropna(subset=["generalization_gap_loss"]),
                "run", "generalization_gap_loss", "gap", "generalization gap (loss, eval mode)",
            ),
            width="stretch",
        )  # fmt: skip
    c3, c4 = st.columns(2)
    bn = data.guarded(data.bn_layers, ids, default=pd.DataFrame())
    if not bn.empty:
        bn = bn.assign(run=bn["job_id"].map(names))
        c3.altair_chart(
            charts.grouped_bars(
                bn, "name", "variance_ratio", "run", "BN variance ratio (population / running)"
            ),
            width="stretch",
        )
        with c3.expander("Per BN layer: measured and predicted variance ratio"):
            st.caption(
                "With dropout(p) feeding a BN layer directly, the ratio is predicted as "
                "(1 - p) / (1 + p mu^2 / sigma^2) from the layer's input mean and variance "
                "(1 - p only for zero-mean input); docs/metrics.md."
            )
            cols = [
                "run", "name", "preceded_by_dropout", "dropout_p", "variance_ratio",
                "predicted_variance_ratio", "variance_ratio_min", "variance_ratio_max",
            ]  # fmt: skip
            tables.show(bn[[c for c in cols if c in bn.columns]])
    quality = "final_val_accuracy" if charts.has(df, "final_val_accuracy") else "final_val_r2"
    sc = df.dropna(subset=[quality, "train_samples_per_s"]) if quality in df else df.iloc[:0]
    if not sc.empty:
        c4.altair_chart(
            charts.scatter(
                sc,
                "train_samples_per_s",
                quality,
                "training throughput (samples/s)",
                f"validation {METRICS[quality].removeprefix('val ')}",
            ),
            width="stretch",
        )

    rep = data.guarded(data.repeats, None, ids, default=pd.DataFrame())
    if not rep.empty and (rep["repeats"] > 1).any():
        from core.repeat_stats import noisy_metrics

        st.subheader("Repeats (same spec but seed): median and 95% CI")
        st.caption(
            "Timing CIs are on the log scale (the geometric mean's), so they stay positive; "
            "noisy: IQR over 10% of the median, as torch.utils.benchmark warns."
        )
        rep = by_varying_fields(rep)
        rep = rep.assign(group=run_labels(rep, "repeat_key").to_numpy())
        metrics = [m for m in METRICS if f"{m}.median" in rep and rep[f"{m}.median"].notna().any()]
        rep["noisy"] = rep.apply(lambda r: ", ".join(noisy_metrics(r, metrics)) or "-", axis=1)
        keep = ["group", "repeats", "noisy"] + [
            f"{m}.{k}" for m in metrics for k in ("median", "ci_low", "ci_high")
        ]
        tables.show(rep[keep])


render()
