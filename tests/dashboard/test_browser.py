"""The Submit form in a real headless Chromium (the whole journey: test_journey.py)."""

import shutil

import pytest

from core.results import ResultFilter, query_records
from tests.services import CHROMIUM, CHROMIUM_ARGS, running_dashboard

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
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(30_000)
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
        browser.close()


def test_a_regression_job_shows_its_own_figures_and_its_suspect_timings(
    dashboard_url, sample_result
):
    """Issue 14: the demo's regressions showed a flat "null" accuracy line; a fold speedup of
    15x, from one busy round, passed silently; a job no worker could take just waited."""
    import re

    from playwright.sync_api import expect, sync_playwright

    from core.spec import BenchSpec
    from core.store import create_job
    from tests.dashboard.test_pages import busy_inference, regression_of
    from tests.dbseed import seed

    base, result = sample_result
    spec = base.with_overrides(dropout_p=0.3)
    reg = regression_of(result, spec, r2=0.812)
    job_id = seed(None, spec, reg.model_copy(update={
        "model": reg.model.model_copy(update={"inference": busy_inference(result)})
    }))  # fmt: skip
    create_job(BenchSpec(), queue="gpu.h100", status="queued")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(30_000)
        page.goto(f"{dashboard_url}/jobs")
        expect(
            page.get_by_text(re.compile("no live worker consumes queue gpu.h100"))
        ).to_be_visible()
        page.get_by_role("combobox", name="Job").click()
        page.get_by_role("option", name=re.compile(job_id[:8])).click()
        labels = page.get_by_test_id("stMetricLabel")
        expect(labels.filter(has_text="val R² (eval mode)")).to_be_visible()
        expect(page.get_by_test_id("stMetricValue").filter(has_text="0.812")).to_be_visible()
        expect(labels.filter(has_text="accuracy")).to_have_count(0)
        expect(page.get_by_text(re.compile("Some inference figures are suspect"))).to_be_visible()
        browser.close()
