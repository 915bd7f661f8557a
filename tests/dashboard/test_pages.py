"""Jobs, Compare, Layers and Workers, on an empty database and a seeded one."""

import json
import re

import pandas as pd
import pytest

from core.spec.schema import BenchSpec
from core.store.jobs import create_job
from core.store.read import ResultFilter, query_records
from core.store.workers import register_worker
from tests.dashboard.conftest import app, baseline_picker, page
from tests.dbseed import seed, variant

PAGES = ["submit", "jobs", "compare", "claims", "layers", "history", "hardware", "workers"]


@pytest.fixture
def seeded(dash_db, sample_result):
    base, result = sample_result
    ids = []
    for p in (0.0, 0.5):
        for s in (0, 1):
            spec = base.with_overrides(dropout_p=p, seed=s)
            ids.append(seed(dash_db, spec, variant(result, spec), group_id="sweep", label=f"p{p}"))
    queued = create_job(base, url=dash_db, label="waiting")
    return ids, queued


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_on_an_empty_database_with_a_way_to_start(dash_db, name):
    at = page(name).run()
    assert not at.exception
    if name != "submit":
        assert "bnbench" in " ".join(i.value for i in at.info)


@pytest.mark.parametrize("name", PAGES)
def test_a_database_that_is_down_gives_a_banner_not_a_traceback(dash_db, monkeypatch, name):
    monkeypatch.setenv("BNBENCH_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    at = page(name).run()
    assert not at.exception
    if name != "submit":
        assert "unreachable" in " ".join(e.value for e in at.error)


def test_jobs_lists_the_queue_and_shows_a_job(seeded):
    at = page("jobs").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) == 5 and set(table["status"]) == {"succeeded", "queued"}
    assert any("Job " in s.value for s in at.subheader)


def test_a_finished_job_shows_its_curves_and_last_hidden_input_bands(seeded):
    ids, _ = seeded
    at = page("jobs").run()
    at.selectbox(key="jobs_selected").set_value(ids[0]).run()
    assert not at.exception
    assert any("Last hidden layer inputs" in m.value for m in at.markdown)
    assert len(at.get("vega_lite_chart")) >= 2  # validation curve, percentile bands


def test_cancel_and_retry_buttons_change_the_rows(seeded):
    _, queued = seeded
    at = page("jobs").run()
    at.selectbox(key="jobs_selected").set_value(queued).run()
    at.button(key="jobs_cancel").click().run()
    assert {r["job_id"]: r["status"] for r in query_records()}[queued] == "cancelled"
    at.button(key="jobs_retry").click().run()
    assert {r["job_id"]: r["status"] for r in query_records()}[queued] == "queued"
    assert not at.exception


def test_retry_with_the_broker_down_says_so_and_changes_nothing(seeded, monkeypatch):
    from tests.services import free_port

    _, queued = seeded
    at = page("jobs").run()
    at.selectbox(key="jobs_selected").set_value(queued).run()
    at.button(key="jobs_cancel").click().run()
    monkeypatch.setenv("BNBENCH_BROKER_URL", f"redis://127.0.0.1:{free_port()}/0")
    at.button(key="jobs_retry").click().run()
    assert not at.exception
    assert "no broker answers" in " ".join(i.value for i in at.info).replace("\\", "")
    assert {r["job_id"]: r["status"] for r in query_records()}[queued] == "cancelled"


def test_jobs_filters_by_status(seeded):
    at = page("jobs").run()
    at.multiselect(key="jobs_status").select("queued").run()
    assert list(at.dataframe[0].value["status"]) == ["queued"]


def test_compare_a_group_shows_what_differs_and_the_figures(seeded, sample_result):
    at = page("compare").run()
    at.selectbox(key="cmp_group").set_value("sweep").run()
    assert not at.exception
    frames = [d.value for d in at.dataframe]
    assert "spec.dropout_p" in frames[0].columns and "spec.seed" in frames[0].columns
    figures = frames[1]
    expected = sample_result[1].model.throughput.samples_per_s
    assert figures["train samples/s"].iloc[0] == pytest.approx(expected)
    assert any(c.endswith("Δ%") for c in figures.columns)
    assert len(at.get("vega_lite_chart")) >= 4  # curves, throughput, gaps, BN, scatter
    layers = next(f for f in frames if "predicted_variance_ratio" in f.columns)
    assert set(layers["name"]) == {b.name for b in sample_result[1].model.bn_stats}


def test_layers_page_plots_layer_benchmarks(dash_db):
    from core.engine.run import run

    spec = BenchSpec(
        kind="layer",
        layer="batchnorm2d",
        shape=(8, 4, 6, 6),
        device="cpu",
        warmup_steps=1,
        timed_steps=2,
        repeats=2,
    )
    seed(dash_db, spec, run(spec))
    at = page("layers").run()
    assert not at.exception and len(at.get("vega_lite_chart")) == 1
    assert at.dataframe[0].value["what"].iloc[0] == "batchnorm2d train_fwd float32"


def test_compare_opens_on_recent_jobs_of_the_newest_jobs_kind(dash_db, sample_result):
    """A new user's journey opened on two layer benchmarks beside a model run: one plot
    point, two identical labels. Only the newest job's kind is picked by default."""
    from core.engine.run import run

    base, result = sample_result
    model_ids = [seed(dash_db, base.with_overrides(seed=s), result) for s in range(2)]
    layer = BenchSpec(kind="layer", layer="batchnorm2d", shape=(8, 4, 6, 6), device="cpu",
                      warmup_steps=1, timed_steps=2, repeats=2)  # fmt: skip
    layer_id = seed(dash_db, layer, run(layer))  # the newest
    at = page("compare").run()
    assert not at.exception
    picked = at.multiselect(key="cmp_jobs").value
    assert picked == [layer_id] and not set(model_ids) & set(picked)


def test_workers_page_lists_the_fleet(dash_db):
    register_worker("cpu0@host", ["cpu"], None)
    at = page("workers").run()
    table = at.dataframe[0].value
    assert list(table["worker"]) == ["cpu0@host"] and list(table["state"]) == ["live"]


def test_workers_page_lists_refused_messages_with_their_reasons(dash_db):
    import streamlit as st

    from core.store.rejections import Rejection, file_refusal

    at = page("workers").run()
    assert "No task message has been refused." in [c.value for c in at.caption]
    file_refusal(Rejection.of("body must be a triple", {"id": "t-1"}, b"null", queue="cpu"))
    st.cache_data.clear()  # the page caches reads for 5 s
    at = page("workers").run()
    refused = at.dataframe[-1].value
    assert list(refused["reason"]) == ["body must be a triple"]
    assert list(refused["queue"]) == ["cpu"] and list(refused["task id"]) == ["t-1"]


def test_the_app_navigates_to_jobs_by_default(dash_db):
    at = app().run()
    assert not at.exception
    assert at.title[0].value == "Jobs"


def test_every_page_in_views_is_in_the_navigation():
    from tests.dashboard.conftest import VIEWS

    app_source = (VIEWS / "app.py").read_text()
    for view in (VIEWS / "views").glob("*.py"):
        assert f'"views/{view.name}"' in app_source, f"{view.name} is not in st.navigation"
    assert {f"{p}.py" for p in PAGES} == {v.name for v in (VIEWS / "views").glob("*.py")}


def test_a_password_is_required_when_configured(dash_db, monkeypatch):
    monkeypatch.setenv("BNBENCH_DASHBOARD_PASSWORD", "s3cret")
    at = app().run()
    assert [t.value for t in at.title] == ["bnbench"]  # the login, not the app
    at.text_input(key="login_password").input("wrong")
    at.button[0].click().run()
    assert "Wrong password." in [e.value for e in at.error]
    at.text_input(key="login_password").input("s3cret")
    at.button[0].click().run()
    assert at.title[0].value == "Jobs"


def test_an_incomplete_oidc_section_leaves_the_password_login_in_charge(
    dash_db, monkeypatch, tmp_path
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text('[auth]\nclient_id = "x"\n')
    monkeypatch.setenv("BNBENCH_DASHBOARD_PASSWORD", "s3cret")
    at = app().run()
    assert [t.value for t in at.title] == ["bnbench"]
    assert at.text_input(key="login_password") is not None  # not an OIDC button that fails


def test_compare_shows_throughput_cards_with_deltas(seeded):
    at = page("compare").run()
    at.selectbox(key="cmp_group").set_value("sweep").run()
    values = [m.value for m in at.metric]
    assert values and all(re.fullmatch(r"[\d,]+/s", v) for v in values)  # samples/s
    assert any(m.delta and "vs baseline" in m.delta for m in at.metric)


def test_compare_by_a_spec_filter(seeded):
    at = page("compare").run()
    at.text_input(key="cmp_filter").input("dropout_p=0.5").run()
    assert not at.exception
    assert set(at.dataframe[0].value["spec.seed"]) == {0, 1}  # the two seeds at p = 0.5
    at.text_input(key="cmp_filter").input("dropout=0.5").run()
    assert "did you mean dropout_p" in " ".join(e.value for e in at.error)


def test_claims_shows_each_verdict_with_its_evidence(dash_db, sample_result):
    base, result = sample_result
    for arm, accs in (("before", (0.80, 0.81, 0.82)), ("after", (0.70, 0.72, 0.71))):
        for s, acc in enumerate(accs):
            spec = base.with_overrides(seed=s, bn_position=f"{arm}_activation")
            seed(
                dash_db,
                spec,
                variant(result, spec, final_val_accuracy=acc, final_test_accuracy=acc),
                group_id="suite-article-ci-20260101-000000",
                label=f"bn_before_activation:{arm}",
            )
    at = page("claims").run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "Put BN after the linear or conv layer and before the activation." in text
    assert "supported-badge" in text or "supported" in text
    # the only experiment with results: its arms' means, and one line per seed across them
    specs = [c.proto.spec for c in at.get("vega_lite_chart")]
    assert len(specs) == 2 and any('"seed"' in s and "per seed" in s for s in specs)
    assert at.metric[0].label == "supported" and at.metric[0].value == "1"
    # the report's measured claims (torch, not here) are counted apart, not as 0 "corrected"
    assert at.metric[-1].label == "measured: see the report" and int(at.metric[-1].value) >= 1
    captions = " ".join(c.value for c in at.caption)
    method = "paired t over 3 seeds (scipy.stats.ttest_1samp on the differences)"
    assert f"superiority, margin 0.02; {method}" in captions


def test_claims_charts_ioffe_stability_as_percentile_bands_per_arm(dash_db, sample_result):
    """The stability claim reads the speed runs and adds their figure 1, per epoch and arm."""
    base, result = sample_result
    for arm in ("bn", "no_bn"):
        for s in range(2):
            spec = base.with_overrides(seed=s, activation="sigmoid")
            seed(dash_db, spec, variant(result, spec), group_id="suite-papers-ci-20260101-000000",
                 label=f"ioffe_szegedy_mnist:{arm}")  # fmt: skip
    at = page("claims").run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "inputs to the last hidden layer's sigmoids stay more stable" in text
    specs = [c.proto.spec for c in at.get("vega_lite_chart")]
    assert any("last_hidden_p85" in s and '"arm"' in s for s in specs)


def test_a_suite_started_on_claims_runs_in_rounds_and_shows_its_round(dash_db, monkeypatch):
    """The form records the run and sends round 1; the workers send the rest, so the page
    only shows where the run stands."""
    from core.store.suite_runs import get_run, recent_runs
    from core.suite_runs import undecided

    monkeypatch.setenv("BNBENCH_SUITES", "tests.rounds_suite:SUITE")
    at = page("claims").run()
    at.selectbox(key="run_suite").set_value("rounds")
    at.selectbox(key="run_profile").set_value("ci")
    at.button[0].click().run()
    assert not at.exception
    assert any("round 1, 8 jobs" in s.value for s in at.success)
    (run,) = recent_runs()
    assert get_run(run.id).round == 1 and undecided(run) == ["decided", "undecided"]
    at = page("claims").run()
    at.selectbox(key="claims_group").set_value(run.id).run()
    assert any("Running: round 1 of at most 2" in i.value for i in at.info)
    jobs = page("jobs").run()
    assert not jobs.exception
    assert any("Suite runs in progress" in m.value for m in jobs.markdown)


def test_a_suite_over_the_limits_is_refused_on_claims_and_nothing_is_recorded(dash_db, monkeypatch):
    from core.store.suite_runs import recent_runs

    monkeypatch.setenv("BNBENCH_MAX_EPOCHS", "1")  # the quick article suite trains 6 epochs
    at = page("claims").run()
    at.selectbox(key="run_suite").set_value("article")
    at.button[0].click().run()
    assert "epochs" in " ".join(e.value for e in at.error) and recent_runs() == []


def test_compare_names_runs_by_the_swept_field_sorted_with_a_sweep_plot(dash_db, sample_result):
    """Issue 14: legends read "0bdb47ee ux-dash-sweep" six times; the baseline was arbitrary."""
    base, result = sample_result
    for p in (0.5, 0.1, 0.3):  # submitted out of order
        for s in (0, 1):
            spec = base.with_overrides(dropout_p=p, seed=s)
            seed(dash_db, spec, variant(result, spec), group_id="g", label="ux-dash-sweep")
    at = page("compare").run()
    at.selectbox(key="cmp_group").set_value("g").run()
    assert not at.exception
    assert baseline_picker(at).options[:2] == ["dropout_p=0.1 seed=0", "dropout_p=0.1 seed=1"]
    assert at.selectbox(key="cmp_x").value == "spec.dropout_p"  # the sweep plot's x axis
    sweep = at.get("vega_lite_chart")[0].proto.spec
    assert '"field": "dropout_p"' in sweep and "spec.dropout_p" not in sweep  # a dot nests
    repeats = next(d.value for d in at.dataframe if "group" in d.value.columns)
    assert list(repeats["group"]) == ["dropout_p=0.1", "dropout_p=0.3", "dropout_p=0.5"]
    assert (repeats["train_samples_per_s.ci_low"] > 0).all()


def test_a_sweep_over_two_fields_gets_parallel_coordinates(dash_db, sample_result):
    base, result = sample_result
    for p in (0.0, 0.5):
        for lr in (0.01, 0.1):
            spec = base.with_overrides(dropout_p=p, lr=lr)
            seed(dash_db, spec, variant(result, spec), group_id="g2")
    at = page("compare").run()
    at.selectbox(key="cmp_group").set_value("g2").run()
    assert not at.exception
    assert "Parallel coordinates" in " ".join(m.value for m in at.markdown)
    specs = [c.proto.spec for c in at.get("vega_lite_chart")]
    assert any('"field": "axis"' in s and '"field": "position"' in s for s in specs)


def encodings(spec: dict) -> list[dict]:
    """Every encoding in a Vega-Lite spec, layers and concatenations included."""
    out = [spec["encoding"]] if "encoding" in spec else []
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for part in spec.get(key, []):
            out += encodings(part)
    return out


def regression_of(result, spec, r2: float):
    """A regression's result: R², RMSE and the loss, and no accuracy anywhere."""
    no_acc = {"train_accuracy": None, "val_accuracy": None, "val_accuracy_train_mode": None}
    epochs = [e.model_copy(update={**no_acc, "val_r2": r2 - 0.1 * (len(result.model.epochs) - i)})
              for i, e in enumerate(result.model.epochs, start=1)]  # fmt: skip
    mode = result.model.mode_gap.model_copy(
        update={"accuracy_eval": None, "accuracy_train_mode": None, "accuracy_gap": None}
    )
    return variant(result, spec, task="regression", final_val_accuracy=None, mode_gap=mode,
                   final_train_accuracy=None, best_val_accuracy=None, generalization_gap=None,
                   final_val_r2=r2, final_train_r2=r2 + 0.05, final_val_rmse=0.7,
                   epochs=epochs)  # fmt: skip


def test_compare_shows_a_regression_tasks_r2_rmse_and_no_empty_accuracy(dash_db, sample_result):
    base, result = sample_result
    for p in (0.0, 0.5):
        spec = base.with_overrides(dropout_p=p)
        seed(dash_db, spec, regression_of(result, spec, r2=0.8 - p), group_id="reg")
    at = page("compare").run()
    at.selectbox(key="cmp_group").set_value("reg").run()
    assert not at.exception
    figures = next(d.value for d in at.dataframe if "timing" in d.value.columns)
    assert {"val R²", "val RMSE", "val loss"} <= set(figures.columns)
    assert "val accuracy" not in figures.columns
    assert list(figures["val R²"]) == pytest.approx([0.8, 0.3])
    assert at.selectbox(key="cmp_y").value == "final_val_r2"  # the default y
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    y_titles = {e["y"].get("title") for s in specs for e in encodings(s) if "y" in e}
    assert {"validation R² (eval mode)", "validation R²"} <= y_titles  # curve, and vs samples/s
    assert "generalization gap (loss, eval mode)" in y_titles
    assert not any("accuracy" in str(t) for t in y_titles), y_titles


def test_a_jobs_detail_leads_with_its_tasks_own_figures(dash_db, sample_result):
    base, result = sample_result
    reg_spec = base.with_overrides(dropout_p=0.3)
    reg = seed(dash_db, reg_spec, regression_of(result, reg_spec, r2=0.812))
    cls = seed(dash_db, base, result)
    for job_id, shown, absent in (
        (reg, "val R² (eval mode)", "val accuracy (final / best)"),
        (cls, "val accuracy (final / best)", "val R² (eval mode)"),
    ):
        at = page("jobs").run()
        at.selectbox(key="jobs_selected").set_value(job_id).run()
        assert not at.exception
        cards = {m.label: m.value for m in at.metric}
        assert shown in cards and absent not in cards
    assert cards["val accuracy (final / best)"].startswith(
        f"{100 * result.model.final_val_accuracy:.2f}%"
    )
    at.selectbox(key="jobs_selected").set_value(reg).run()
    assert {m.label: m.value for m in at.metric}["val R² (eval mode)"] == "0.812"


def test_jobs_tags_notes_and_archives_a_job_and_a_group(seeded):
    from core.store.annotations import group_note, tags_of

    ids, _ = seeded
    at = page("jobs").run()
    job_id = at.selectbox(key="jobs_selected").value
    key = f"edit_{job_id[:8]}"
    at.text_input(key=f"{key}_label").input("renamed")
    at.multiselect(key=f"{key}_tags").set_value(["baseline"])
    at.text_area(key=f"{key}_note").input("looks right")
    at.button(key=f"FormSubmitter:{key}-Save").click().run()
    assert not at.exception
    [rec] = query_records(ResultFilter(job_ids=(job_id,)))
    assert (rec["label"], rec["tags"], rec["note"]) == ("renamed", "baseline", "looks right")

    at.selectbox(key="jobs_group").set_value("sweep").run()
    at.multiselect(key="group_edit_tags").set_value(["p-sweep"])
    at.text_area(key="group_edit_note").input("two seeds per p")
    at.button(key="FormSubmitter:group_edit-Save").click().run()
    assert all("p-sweep" in t for t in tags_of(ids).values())
    assert group_note("sweep") == "two seeds per p"
    at.button(key="group_archive").click().run()
    assert not at.exception
    assert {r["job_id"] for r in query_records()} & set(ids) == set()  # hidden by default
    assert "sweep" not in page("jobs").run().selectbox(key="jobs_group").options


def busy_inference(result):
    """The sample result's inference points made steady (rounds at the p50 latency, no
    spread), but for the unfolded batch-1 rounds, slowed 10x by load."""
    points = []
    for p in result.model.inference:
        slow = p.batch_size == 1 and not p.folded
        ms = 10 * p.latency_p95_ms if slow else p.latency_p50_ms
        rounds = p.rounds.model_copy(update={"median_ms": ms, "p25_ms": ms, "p75_ms": ms})
        points.append(
            p.model_copy(update={"rounds": rounds, "samples_per_s": p.batch_size / ms * 1e3})
        )
    return points


def test_a_jobs_detail_marks_inference_figures_that_contradict_themselves(dash_db, sample_result):
    spec, result = sample_result
    job_id = seed(dash_db, spec, variant(result, spec, inference=busy_inference(result)))
    at = page("jobs").run()
    at.selectbox(key="jobs_selected").set_value(job_id).run()
    assert not at.exception
    assert any("suspect" in w.value for w in at.warning)
    inf = next(d.value for d in at.dataframe if "check" in d.value.columns)
    flagged = inf[inf["check"] != "ok"]
    assert set(zip(flagged["batch_size"], flagged["folded"], strict=True)) == {
        (1, False),
        (1, True),
    }
    speedup = pd.to_numeric(flagged["fold_speedup"], errors="coerce").dropna()
    assert speedup.iloc[0] > 5, flagged  # shown, and marked as suspect


def test_compare_shows_each_runs_threads_load_and_step_tail(dash_db, sample_result):
    base, result = sample_result
    for p in (0.0, 0.5):
        spec = base.with_overrides(dropout_p=p)
        busy = variant(result, spec, step_p95_over_median=3.5 if p else 1.05, wall_over_steps=1.2)
        seed(dash_db, spec, busy.model_copy(update={"load_avg_1m_start": 2.5}), group_id="host")
    at = page("compare").run()
    at.selectbox(key="cmp_group").set_value("host").run()
    assert not at.exception
    host = next(d.value for d in at.dataframe if "step p95 / median" in d.value.columns)
    assert list(host["run"]) == ["dropout_p=0", "dropout_p=0.5"]
    assert list(pd.to_numeric(host["step p95 / median"])) == pytest.approx([1.05, 3.5])
    assert set(host["threads"]) == {result.provenance.threads}
    assert list(pd.to_numeric(host["load at start"])) == [2.5, 2.5]
