"""A new user's journey in a real headless Chromium against a real `bnbench up`: submit a
two-field sweep from the form, watch a job's learning curves grow on Jobs, compare by the
swept field, tag the group and archive it.

`BNBENCH_SCREENSHOT=docs/img/dashboard-compare.png` saves the Compare page it reaches
(docs/screenshot.py does this for the README).
"""

import os
import re
import shutil
import signal
import subprocess
import sys

import pytest

from core.store.annotations import tags_of
from core.store.read import ResultFilter, query_records
from tests.services import CHROMIUM, FAST_TIMERS, chromium_page, free_port, wait_until

pytestmark = pytest.mark.skipif(
    not shutil.which(CHROMIUM),
    reason="Debian's chromium is not installed; .ci/run and `make browser` install it",
)
EPOCHS = 80  # 4096 samples: 15-20 s a job beside another on 2 cores, to watch curves grow


@pytest.fixture
def bnbench_up(tmp_path, monkeypatch):
    """`bnbench up` on embedded defaults (SQLite, its own broker); yields the dashboard URL."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("BNBENCH_BROKER_URL", "BNBENCH_DATABASE_URL")}  # fmt: skip
    env.update(FAST_TIMERS, BNBENCH_HOME=str(tmp_path / "home"),
               BNBENCH_EMBEDDED_BROKER_PORT=str(free_port()))  # fmt: skip
    for k in ("BNBENCH_HOME", "BNBENCH_EMBEDDED_BROKER_PORT"):
        monkeypatch.setenv(k, env[k])
    monkeypatch.delenv("BNBENCH_DATABASE_URL", raising=False)
    port = free_port()
    up = subprocess.Popen(
        [sys.executable, "-c", "from cli import main; main()", "up", "--no-demo",
         "--cpu-workers", "2", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    lines: list[str] = []
    try:
        while "Ctrl-C stops everything" not in "".join(lines):  # up prints it once all answer
            line = up.stdout.readline()
            assert line, "bnbench up exited:\n" + "".join(lines)
            lines.append(line)
        url = re.search(r"dashboard +(http://\S+)", "".join(lines)).group(1)
        yield url.replace("0.0.0.0", "127.0.0.1")
    finally:
        os.killpg(up.pid, signal.SIGINT)
        up.communicate(timeout=90)


def test_a_sweep_from_the_form_to_an_archived_tagged_group(bnbench_up, tmp_path):
    from playwright.sync_api import expect

    url = bnbench_up
    with chromium_page(height=1100) as page:
        # 1. Submit: a preset, two fields swept, a label
        page.goto(f"{url}/submit")
        # A fresh server's first render imports the spec and form modules; beside a busy
        # neighbour on 2 cores that has taken more than the 30 s a click waits.
        preset = page.get_by_role("combobox", name="Start from a preset")
        expect(preset).to_be_visible(timeout=120_000)
        preset.click()
        page.get_by_role("option", name="smoke", exact=True).click()
        expect(page.get_by_label("synthetic_samples", exact=True)).to_have_value("512")
        page.get_by_text("Optimization", exact=True).click()
        page.get_by_text("Data", exact=True).click()
        typed = (("epochs", str(EPOCHS)), ("synthetic_samples", "4096"), ("Label", "journey"))
        for field, value in typed:
            box = page.get_by_label(field, exact=True)
            box.fill(value)
            box.press("Enter")
            expect(box).to_have_value(value)
        sweep = page.locator("textarea").first
        sweep.fill("dropout_p=0,0.3\nnorm=batchnorm,none")
        sweep.press("Control+Enter")
        page.wait_for_load_state("networkidle")
        page.get_by_role("button", name="Submit", exact=True).click()
        expect(page.get_by_text("Submitted 4 jobs")).to_be_visible()
        jobs = query_records(ResultFilter(label="journey"))
        assert len(jobs) == 4 and {j["spec.epochs"] for j in jobs} == {EPOCHS}
        group = jobs[0]["group_id"]

        # 2. Jobs, at /jobs: watch a job that has yet to start; its curves grow as it runs
        page.goto(f"{url}/jobs")
        expect(page.get_by_role("heading", name="Jobs")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("Page not found")).to_have_count(0)
        waiting = query_records(ResultFilter(label="journey", status=("queued",)))
        assert waiting, "2 workers take 2 of the 4 jobs; the others wait"
        page.get_by_role("combobox", name="Job").click()
        page.get_by_role("option", name=re.compile(waiting[0]["job_id"][:8])).click()
        curve = page.get_by_text(re.compile(rf"Learning curves \(\d+ of {EPOCHS} epochs\)"))

        def epochs_shown() -> int:
            if not curve.count():
                return 0
            return int(re.search(r"\((\d+) of", curve.first.inner_text()).group(1))

        first = wait_until(epochs_shown, 60, "the first epochs' curves")
        assert first < EPOCHS, "the curves are seen while the job runs"
        wait_until(lambda: epochs_shown() > first, 30, "the curves to grow")

        # 3. Compare by the swept field
        wait_until(
            lambda: {j["status"] for j in query_records(ResultFilter(group_id=group))}
            == {"succeeded"}, 240, "the sweep to finish",
        )  # fmt: skip
        page.goto(f"{url}/compare")
        page.get_by_role("combobox", name="Group").click()
        page.get_by_role("option", name=group, exact=True).click()
        expect(page.get_by_role("heading", name="Across the sweep")).to_be_visible()
        # runs are named by what differs, sorted by it: the baseline card comes first
        first_card = page.get_by_test_id("stMetricLabel").first
        expect(first_card).to_have_text("norm=batchnorm dropout_p=0: training throughput")
        page.get_by_role("heading", name="Across the sweep").evaluate(
            "e => e.scrollIntoView({block: 'start'})"
        )
        page.wait_for_timeout(2500)  # the Vega charts draw after the page settles
        shot = tmp_path / "compare.png"
        page.screenshot(path=str(shot))
        if target := os.environ.get("BNBENCH_SCREENSHOT"):
            shutil.copy(shot, target)

        # 4. Tag the group, then archive it
        page.goto(f"{url}/jobs")
        page.get_by_role("combobox", name="Group").click()
        page.get_by_role("option", name=group, exact=True).click()
        panel = page.get_by_test_id("stExpander").filter(has_text=f"Group {group}")
        panel.get_by_text(f"Group {group}").click()
        tags = panel.get_by_role("combobox", name="Add tags to every job")
        tags.click()
        tags.fill("journey-tag")
        tags.press("Enter")
        tags.press("Escape")  # close the options list, which hides the rest from the page
        panel.get_by_role("button", name="Save").click()
        ids = [j["job_id"] for j in jobs]
        wait_until(lambda: all(t == ["journey-tag"] for t in tags_of(ids).values()), 15, "tags")
        panel.get_by_role("button", name="Archive group", exact=True).click()
        wait_until(lambda: not query_records(ResultFilter(group_id=group)), 15, "the archive")
        assert len(query_records(ResultFilter(group_id=group, archived=True))) == 4
