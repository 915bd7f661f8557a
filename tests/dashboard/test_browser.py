"""The Submit form in a real headless Chromium (the whole journey: test_journey.py)."""

import shutil

import pytest

from core.store.read import ResultFilter, query_records
from tests.services import CHROMIUM, chromium_page, running_dashboard

pytestmark = pytest.mark.skipif(
    not shutil.which(CHROMIUM),
    reason="Debian's chromium is not installed; .ci/run and `make browser` install it",
)


@pytest.fixture
def dashboard_url(queue_env, tmp_path):
    with running_dashboard(tmp_path) as base:
        yield base


def test_bad_numbers_typed_in_the_browser_block_the_submission(dashboard_url):
    """Issue 14: typing 1.5 for dropout_p and -5 for batch_size once ran p=0.5, batch 64."""
    from playwright.sync_api import expect

    with chromium_page() as page:
        page.goto(f"{dashboard_url}/submit")
        page.get_by_text("Optimization", exact=True).click()  # batch_size's group is folded
        for field, typed in (("dropout_p", "1.5"), ("batch_size", "-5")):
            box = page.get_by_label(field, exact=True)
            box.fill(typed)
            box.press("Enter")
            expect(box).to_have_value(typed)
        page.wait_for_load_state("networkidle")
        page.get_by_role("button", name="Submit", exact=True).click()
        summary = page.get_by_text("Fix the highlighted fields")
        expect(summary).to_be_visible()
        expect(summary).to_contain_text("dropout_p")
        expect(summary).to_contain_text("batch_size")
        expect(page.get_by_text("Submitted")).to_have_count(0)
        assert query_records(ResultFilter()) == []


def seed_claim(sample_result) -> None:
    """Three seeds a side of bn_before_activation, as an article suite run records them."""
    from tests.dbseed import seed, variant

    base, result = sample_result
    for arm, accs in (("before", (0.80, 0.81, 0.82)), ("after", (0.70, 0.72, 0.71))):
        for s, acc in enumerate(accs):
            spec = base.with_overrides(seed=s, bn_position=f"{arm}_activation")
            seed(None, spec, variant(result, spec, final_val_accuracy=acc, final_test_accuracy=acc),
                 group_id="suite-article-ci-20260101-000000",
                 label=f"bn_before_activation:{arm}")  # fmt: skip


def test_what_a_new_user_saw_wrong_on_jobs_submit_and_claims(dashboard_url, sample_result):
    """Issue 14: the demo's regressions showed a flat "null" accuracy line; a fold speedup of
    15x, from one busy round, passed silently; a job no worker could take just waited; and
    Claims counted "corrected 0" while the report had a measured claim."""
    import re

    from playwright.sync_api import expect

    from core.spec.schema import BenchSpec
    from core.store.jobs import create_job
    from tests.dashboard.test_pages import busy_inference, regression_of
    from tests.dbseed import seed, variant

    base, result = sample_result
    spec = base.with_overrides(dropout_p=0.3)
    reg = regression_of(result, spec, r2=0.812)
    job_id = seed(None, spec, reg.model_copy(update={
        "model": reg.model.model_copy(update={"inference": busy_inference(result)})
    }))  # fmt: skip
    create_job(BenchSpec(), queue="gpu.h100", status="queued")
    seed_claim(sample_result)
    tp = result.model.throughput
    noisy = tp.model_copy(
        update={
            "step": tp.step.model_copy(  # a 50% spread
                update={"p25_ms": 0.75 * tp.step.median_ms, "p75_ms": 1.25 * tp.step.median_ms}
            )
        }
    )
    for p_ in (0.1, 0.2):
        s = base.with_overrides(dropout_p=p_)
        seed(None, s, variant(result, s, throughput=noisy), group_id="noisy-sweep")
    unserved = re.compile("no live worker consumes queue gpu.h100")
    with chromium_page() as page:
        page.goto(f"{dashboard_url}/jobs")
        expect(page.get_by_text(unserved)).to_be_visible()
        # the grid draws on a canvas; its accessible table holds the same cell texts
        cells = page.get_by_test_id("stDataFrame").first.locator("td[role=gridcell]")
        expect(cells.first).to_be_attached()
        texts = [t.strip() for t in cells.all_text_contents()]
        assert "None" not in texts and "-" in texts, texts  # an empty cell reads "-"
        page.get_by_role("combobox", name="Job").click()
        page.get_by_role("option", name=re.compile(job_id[:8])).click()
        labels = page.get_by_test_id("stMetricLabel")
        expect(labels.filter(has_text="val R² (eval mode)")).to_be_visible()
        expect(page.get_by_test_id("stMetricValue").filter(has_text="0.812")).to_be_visible()
        expect(labels.filter(has_text="accuracy")).to_have_count(0)
        expect(page.get_by_text(re.compile("Some inference figures are suspect"))).to_be_visible()

        page.goto(f"{dashboard_url}/submit")
        route = page.get_by_label("GPU model (routes to gpu.<model>)", exact=True)
        route.fill("h100")
        route.press("Enter")
        page.wait_for_load_state("networkidle")
        page.get_by_role("button", name="Submit", exact=True).click()
        expect(page.get_by_text(unserved)).to_be_visible()

        page.goto(f"{dashboard_url}/compare")
        page.get_by_role("combobox", name="Group").click()
        page.get_by_role("option", name="noisy-sweep", exact=True).click()
        figures = page.get_by_test_id("stDataFrame").filter(has_text="timing")
        runs = figures.locator("td[role=gridcell]").filter(has_text=re.compile("^dropout_p="))
        expect(runs).to_have_text(["dropout_p=0.1", "dropout_p=0.2"])  # the group's, by p
        texts = figures.locator("td[role=gridcell]").all_text_contents()
        assert texts.count("noisy: step IQR > 10% of median") == 2, texts

        page.goto(f"{dashboard_url}/claims")
        measured = page.get_by_test_id("stMetric").filter(has_text="measured: see the report")
        expect(measured).to_be_visible()
        assert int(measured.get_by_test_id("stMetricValue").inner_text()) >= 1


def test_the_watched_job_stays_picked_when_it_starts(dashboard_url):
    """The picker's labels carry the status, and the browser keeps the picked label: a job
    starting once swapped the view to another job (the journey caught it, at random)."""
    import re

    from playwright.sync_api import expect

    from core.spec.schema import BenchSpec
    from core.store.jobs import claim, create_job

    watched = create_job(BenchSpec(seed=1), status="queued", label="watched")
    newer = create_job(BenchSpec(seed=2), status="queued", label="newer")  # listed first
    with chromium_page() as page:
        page.goto(f"{dashboard_url}/jobs")
        page.get_by_role("combobox", name="Job").click()
        page.get_by_role("option", name=re.compile(watched[:8])).click()
        heading = page.get_by_role("heading", name=f"Job {watched}")
        expect(heading).to_be_visible()
        assert claim(watched, "w1@host", stale_after_s=60)  # queued -> running
        expect(page.get_by_role("combobox", name="Job")).to_have_value(
            re.compile(f"{watched[:8]} running"), timeout=20_000
        )  # the list is read through a 5 s cache, and refreshed every 2 s
        expect(heading).to_be_visible()
        page.get_by_role("combobox", name="Job").click()  # and another pick still takes
        page.get_by_role("option", name=re.compile(newer[:8])).click()
        expect(page.get_by_role("heading", name=f"Job {newer}")).to_be_visible()
        page.wait_for_timeout(3_000)  # a refresh later, it stays
        expect(page.get_by_role("heading", name=f"Job {newer}")).to_be_visible()
