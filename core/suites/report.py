"""Judging a suite run: its group's results, split by experiment and arm, through each rule."""

from __future__ import annotations

import pandas as pd

from core.engine.inference_checks import checked
from core.repeat_stats import steps_noisy
from core.store.details import inference_table, layer_benchmarks
from core.store.read import ResultFilter, group_ids, query_records
from core.store.suite_runs import get_run, rerun_job_id
from core.suites.model import PROFILES, Experiment, Suite
from core.suites.sequential import first_seeds, judge
from core.suites.verdicts import Verdict


def group_prefix(suite: str, profile: str) -> str:
    return f"suite-{suite}-{profile}-"


def latest_group(suite: str, url: str | None = None) -> str | None:
    """The most recent group of a run of `suite`, any profile."""
    return next((g for g in group_ids(url) if g.startswith(f"suite-{suite}-")), None)


# Evidence read off timings: a run whose timings are noisy is re-run once before judging.
TIMING_EVIDENCE = ("median_ms", "roofline_fraction", "fold_speedup")


def results_by_experiment(group_id: str, url: str | None = None) -> dict[str, pd.DataFrame]:
    """Succeeded rows of the group, keyed by experiment, with an `arm` column from the label,
    a `noisy` flag on timings, and `rerun` on re-runs, which replace the runs they re-ran."""
    df = pd.DataFrame.from_records(
        query_records(ResultFilter(group_id=group_id, status=("succeeded",)), url=url)
    )
    if df.empty:
        return {}
    parts = df["label"].fillna(":").str.split(":", n=1, expand=True)
    df = df.assign(experiment=parts[0], arm=parts[1])
    df = _reruns_in_place(_with_details(df, url), group_id)
    return {k: g.reset_index(drop=True) for k, g in df.groupby("experiment")}


def _reruns_in_place(df: pd.DataFrame, group_id: str) -> pd.DataFrame:
    """Flags noisy timings and re-runs; a run that has a re-run gives way to it."""
    layer = [
        steps_noisy(i, m)
        for i, m in zip(df.get("iqr_ms", [None] * len(df)), df.get("median_ms", [None] * len(df)),
                        strict=True)
    ]  # fmt: skip
    fold = df["fold_check"].fillna("ok") != "ok" if "fold_check" in df else False
    df = df.assign(noisy=pd.Series(layer, index=df.index) | fold)
    seeds = df["spec.seed"] if "spec.seed" in df else pd.Series(0, index=df.index)
    reruns = [rerun_job_id(group_id, lb, sd) for lb, sd in zip(df["label"], seeds, strict=True)]
    is_rerun = [j == r for j, r in zip(df["job_id"], reruns, strict=True)]
    ids = set(df["job_id"])
    keep = [own or r not in ids for own, r in zip(is_rerun, reruns, strict=True)]
    return df.assign(rerun=is_rerun)[keep]


def _with_details(df: pd.DataFrame, url: str | None) -> pd.DataFrame:
    """Layer timings, and the BN-folding speedup at the largest inference batch, as columns."""
    ids = df["job_id"].tolist()
    layers = layer_benchmarks(url=url, job_ids=ids)
    if not layers.empty:
        keep = ["job_id", "median_ms", "iqr_ms", "achieved_gbps", "copy_gbps", "roofline_fraction"]
        df = df.merge(layers[keep], on="job_id", how="left")
    inf = checked(inference_table(ids, url))
    big = inf[inf["batch_size"] == inf.groupby("job_id")["batch_size"].transform("max")]
    speedup = big[big["folded"].astype(bool)]
    if not speedup.empty:
        speedup = speedup.rename(columns={"check": "fold_check"})
        df = df.merge(speedup[["job_id", "fold_speedup", "fold_check"]], on="job_id", how="left")
    return df


def is_measurement(e: Experiment) -> bool:
    """Answered by measuring PyTorch directly (needs torch), not by jobs' results."""
    return not e.arms(PROFILES["ci"])


def evaluate(
    suite: Suite,
    group_id: str,
    url: str | None = None,
    measurements: bool = True,
    data: dict[str, pd.DataFrame] | None = None,
) -> list[Verdict]:
    """A verdict for every experiment; one without results is inconclusive, saying why.
    measurements=False leaves out direct measurements, for processes without torch; `data`
    is results_by_experiment(group_id), for callers that also chart it."""
    if data is None:
        data = results_by_experiment(group_id, url)
    run = get_run(group_id, url)
    return [
        _judged(e, data, run) for e in suite.experiments if measurements or not is_measurement(e)
    ]


def as_judged(
    suite: Suite, group_id: str, data: dict[str, pd.DataFrame], url: str | None = None
) -> dict[str, pd.DataFrame]:
    """`data` cut to the runs the verdicts rest on, for charts beside them: for each set of
    runs, those seen by the latest stopping look of an experiment reading it (all of them
    while an experiment reading it has not stopped, or in a group with no suite run)."""
    run = get_run(group_id, url)
    if run is None:
        return data
    out = {}
    for key, df in data.items():
        readers = [e for e in suite.experiments if e.runs_key == key]
        stops = [run.stops.get(e.key) for e in readers]
        if not readers or any(st is None for st in stops):
            out[key] = df
            continue
        last = max(stops, key=lambda st: (st.seeds, st.at or ""))
        out[key] = first_seeds(df, last.seeds, last.at)
    return out


def _judged(e: Experiment, data: dict[str, pd.DataFrame], run) -> Verdict:
    """The verdict a report shows: at the look the experiment stopped at, with its seeds and
    why it stopped; a run still going is judged on what has finished so far."""
    if run is not None and run.experiments and e.key not in run.experiments:
        run = None  # not part of this run: judged on whatever runs the group has
    stop = run.stops.get(e.key) if run is not None else None
    looks = len(e.seed_rounds(PROFILES[run.profile])) if run is not None else None
    df, alpha = judge(e, data.get(e.runs_key, pd.DataFrame(columns=["arm"])), stop, looks)
    v = e.analyze(df, alpha)
    seeds = int(df["spec.seed"].nunique()) if "spec.seed" in df.columns else None
    if stop is not None:
        why = stop.why
        if stop.verdict is not None and stop.verdict != v.verdict:
            why += (f"; the look itself said {stop.verdict}: the rules changed since "
                    "(bnbench was upgraded), so run the suite again")  # fmt: skip
        return v.model_copy(update={"seeds": seeds, "stopped": why})
    if run is None:
        return v.model_copy(update={"seeds": seeds})
    going = f"still running: round {run.round} of at most {run.looks}"
    return v.model_copy(update={"seeds": seeds, "stopped": going})


def confidence_note(verdicts: list[Verdict]) -> str:
    """How the report's claims were tested, for its header."""
    split = sorted({round(v.alpha, 6) for v in verdicts if v.alpha < 0.05}, reverse=True)
    text = (
        "Each claim is tested on its own at the 5% level; there is no correction across the "
        "suite's claims."
    )
    if split:
        levels = ", ".join(f"{a:.3g} ({100 * (1 - a):.3g}% intervals)" for a in split)
        text += (
            " Seeds are sequential: a claim is looked at after each round of seeds, and its 5% "
            f"is split evenly over the planned looks (Bonferroni across looks): each look tests "
            f"at {levels}."
        )
    return text


def method_line(v: Verdict) -> str:
    """Claim type, margin, method and minimum detectable effect, in one line."""
    parts = [v.claim_type + (f", margin {v.margin:g}" if v.margin is not None else "")]
    if v.method:
        parts.append(v.method)
    if v.alpha < 0.05:
        parts.append(f"alpha {v.alpha:.3g} per look (Bonferroni across looks)")
    if v.mde is not None:
        parts.append(f"minimum detectable effect {v.mde:.3g} (80% power)")
    if v.seeds is not None:
        parts.append(f"{v.seeds} seeds" + (f", {v.stopped}" if v.stopped else ""))
    if v.failed_check:
        parts.append(f"failed check: {v.failed_check}")
    return "; ".join(parts)


def _ci(v: Verdict) -> str:
    return "-" if v.ci_low is None else f"[{v.ci_low:+.3f}, {v.ci_high:+.3f}]"


def markdown(suite: Suite, group_id: str, verdicts: list[Verdict]) -> str:
    lines = [
        f"# Suite `{suite.name}`",
        "",
        suite.description,
        "",
        f"Results of group `{group_id}`. {confidence_note(verdicts)}",
        "",
        "| experiment | type | margin | verdict | effect | CI | level | seeds | stopped | MDE |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for v in verdicts:
        effect = "-" if v.effect is None else f"{v.effect:+.3f}"
        margin = "-" if v.margin is None else f"{v.margin:g}"
        mde = "-" if v.mde is None else f"{v.mde:.3g}"
        seeds = "-" if v.seeds is None else str(v.seeds)
        lines.append(
            f"| {v.experiment} | {v.claim_type} | {margin} | **{v.verdict}** | {effect} | "
            f"{_ci(v)} | {100 * (1 - v.alpha):.3g}% | {seeds} | {v.stopped or '-'} | {mde} |"
        )
    for v, e in zip(verdicts, suite.experiments, strict=True):
        lines += ["", f"## {v.experiment}: {v.verdict}", "", f"*Claim:* {v.claim}", "",
                  f"*Rule:* {e.rule}", "", f"*Effect:* {v.effect_name}."]  # fmt: skip
        if v.method:
            lines += ["", f"*Method:* {method_line(v)}."]
        if v.failed_check:
            lines += ["", f"*Failed check:* {v.failed_check}."]
        lines += ["", v.explanation]
    return "\n".join(lines) + "\n"
