"""The Submit page: a form generated from BenchSpec that creates the right job rows."""

from core.spec.schema import BenchSpec, fields_by_group
from core.store.read import ResultFilter, query_records
from tests.dashboard.conftest import page


def submit(at):
    at.button(key="submit").click().run()
    return at


def test_the_form_has_a_widget_for_every_spec_field(dash_db):
    at = page("submit").run()
    assert not at.exception
    keys = {w.key for w in [*at.selectbox, *at.checkbox, *at.text_input]}
    for names in fields_by_group().values():
        for name in names:
            if name != "spec_version":
                assert f"spec.{name}" in keys, name
    assert at.text_input(key="spec.epochs").value == str(BenchSpec().epochs)


def test_submitting_one_spec_creates_one_queued_job(dash_db):
    at = page("submit").run()
    at.selectbox(key="spec.family").set_value("seednet")
    at.text_input(key="spec.epochs").input("3")
    at.text_input(key="label").input("from-the-form")
    submit(at)
    assert not at.exception and not at.error
    [job] = query_records()
    assert (job["status"], job["label"], job["spec.family"], job["spec.epochs"]) == (
        "queued",
        "from-the-form",
        "seednet",
        3,
    )
    assert "Submitted 1 job" in at.success[0].value


def test_a_sweep_creates_a_group_with_every_combination(dash_db):
    at = page("submit").run()
    at.text_area(key="sweep").input("dropout_p=0,0.5\nnorm=batchnorm,none")
    at.number_input(key="sweep_repeats").set_value(2)
    submit(at)
    jobs = query_records()
    assert len(jobs) == 8 and len({j["group_id"] for j in jobs}) == 1
    assert {(j["spec.dropout_p"], j["spec.norm"]) for j in jobs} == {
        (0.0, "batchnorm"),
        (0.0, "none"),
        (0.5, "batchnorm"),
        (0.5, "none"),
    }
    assert {j["spec.seed"] for j in jobs} == {0, 1}


def test_an_invalid_field_shows_its_error_and_creates_nothing(dash_db):
    at = page("submit").run()
    at.text_input(key="spec.batch_size").input("1")  # BatchNorm needs >= 2
    submit(at)
    messages = " ".join(e.value for e in at.error)
    assert "BatchNorm in training needs batch_size >= 2" in messages
    assert query_records() == []


def test_a_bad_sweep_line_is_explained(dash_db):
    at = page("submit").run()
    at.text_area(key="sweep").input("dropout_p 0.1")
    submit(at)
    assert "one field per line" in " ".join(e.value for e in at.error)
    assert query_records() == []


def test_choosing_seednet_brings_the_articles_fixed_shape(dash_db):
    at = page("submit").run()
    at.selectbox(key="spec.family").set_value("seednet").run()
    assert at.text_input(key="spec.width").value == "20"
    assert at.selectbox(key="spec.dataset").value == "synthetic_regression"


def test_a_preset_fills_the_form(dash_db):
    at = page("submit").run()
    at.selectbox(key="preset").set_value("dropoutnet").run()
    assert at.selectbox(key="spec.family").value == "seednet"
    assert at.selectbox(key="spec.norm").value == "none"


def test_routing_to_a_gpu_model_sets_the_queue(dash_db):
    at = page("submit").run()
    at.text_input(key="gpu_model_route").input("h100")
    submit(at)
    assert query_records(ResultFilter())[0]["queue"] == "gpu.h100"


def test_a_field_over_the_deployments_limit_is_refused_next_to_it(dash_db, monkeypatch):
    monkeypatch.setenv("BNBENCH_MAX_EPOCHS", "10")
    at = page("submit").run()
    at.text_area(key="sweep").input("epochs=5,50")
    submit(at)
    messages = " ".join(e.value for e in at.error)
    assert "over this deployment's limit of 10 (BNBENCH_MAX_EPOCHS)" in messages
    assert query_records() == []  # nothing of the sweep was sent


def test_an_invalid_deployment_setting_is_shown_and_nothing_is_sent(dash_db, monkeypatch):
    monkeypatch.setenv("BNBENCH_MAX_EPOCHS", "lots")
    at = submit(page("submit").run())
    assert not at.exception
    assert "BNBENCH\\_MAX\\_EPOCHS" in " ".join(e.value for e in at.error)
    assert query_records() == []


def test_out_of_range_and_unparsable_numbers_block_the_submission(dash_db):
    """The form validates what it shows: no widget quietly falls back to a bound or default."""
    at = page("submit").run()
    at.text_input(key="spec.dropout_p").input("1.5")
    at.text_input(key="spec.batch_size").input("-5")
    at.text_input(key="spec.epochs").input("three")
    submit(at)
    assert query_records() == []
    assert not at.success
    beside = {e.value for e in at.error}
    summary = [e.value for e in at.error if e.value.startswith("Fix the highlighted fields")]
    assert summary, beside
    for field in ("dropout_p", "batch_size", "epochs"):
        assert field in summary[0]
    assert any("'three' is not a whole number" in m for m in beside)
    assert at.text_input(key="spec.dropout_p").value == "1.5"  # left as typed, to be fixed


def test_with_the_broker_down_the_form_says_so_and_records_nothing(dash_db, monkeypatch):
    from tests.services import free_port

    monkeypatch.setenv("BNBENCH_BROKER_URL", f"redis://127.0.0.1:{free_port()}/0")
    at = page("submit").run()
    at.text_area(key="sweep").input("dropout_p=0,0.5")
    submit(at)
    assert not at.exception and not at.success
    assert "no broker answers" in " ".join(e.value for e in at.error)
    assert query_records() == []


def test_a_queue_no_worker_consumes_is_named_on_submit_and_jobs(dash_db):
    def warnings(at) -> str:  # alerts escape punctuation (dashboard.safe_text)
        return " ".join(w.value.replace("\\", "") for w in at.warning)

    at = page("submit").run()
    at.text_input(key="gpu_model_route").input("h100")
    submit(at)
    assert "no live worker consumes queue gpu.h100" in warnings(at)
    assert "no live worker consumes queue gpu.h100" in warnings(page("jobs").run())
