"""Hostile labels, groups and filters on the dashboard and in the HTML suite report.

Streamlit renders alerts, metric labels, widget labels and captions as Markdown (raw HTML
only with unsafe_allow_html). A hostile string may show up there only as literal text; in
dataframes and select options it is data. The real-browser checks at the end run when
Debian's chromium is installed and skip, saying so, otherwise.
"""

import json
import re
import shutil
from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from core.spec.schema import BenchSpec
from core.store.jobs import create_job, mark_failed
from core.store.read import ResultFilter, query_records
from core.suites import suites
from core.suites.model import Suite
from core.suites.report import evaluate, results_by_experiment
from dashboard.report_html import render
from tests.core.test_hostile_strings import HOSTILE
from tests.dashboard.conftest import baseline_picker, dashboard_database, page
from tests.dbseed import seed, variant
from tests.services import CHROMIUM, chromium_page, running_dashboard
from worker.queues import gpu_slug

# Closes a <script> element from inside a JSON string if it is embedded unescaped.
BREAKOUT = "</script><script>alert(1)</script>"
STRINGS = [*HOSTILE, BREAKOUT]
NO_BROKER = "redis://127.0.0.1:9/0"  # nothing listens there; Submit's PING and send are replaced
MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
# Element types whose body Streamlit renders as Markdown; every element's label and help too.
MARKDOWN_BODIES = {
    "markdown", "caption", "title", "header", "subheader", "error", "warning", "info",
    "success", "toast",
}  # fmt: skip


def ids(strings: list[str]) -> list[str]:
    return [repr(s) for s in strings]


def literal(text: str) -> str:
    """`text` as markdown-it writes plain text into HTML."""
    for a, b in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;")):
        text = text.replace(a, b)
    return text


def shows_literally(markdown: str, text: str) -> bool:
    """Whether `markdown`, rendered, shows `text` as itself (no emphasis, link or tag)."""
    return literal(text) in MARKDOWN.render(markdown)


def nodes(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from nodes(child)


def markdown_texts(at) -> list[tuple[str, str, bool]]:
    """(element type, Markdown source, allow_html) for everything on the page that Streamlit
    renders as Markdown."""
    out = []
    for node in nodes(at._tree):
        kind = getattr(node, "type", "")
        if kind in MARKDOWN_BODIES:
            out.append((kind, node.value, bool(getattr(node.proto, "allow_html", False))))
        for attr in ("label", "help"):
            try:
                value = getattr(node, attr)
            except AttributeError:
                continue
            if isinstance(value, str) and value:
                out.append((f"{kind}.{attr}", value, False))
    return out


def assert_inert(at, strings=STRINGS, echo: str | None = None) -> None:
    """No exception, no HTML element, and every hostile string that reaches Markdown is shown
    as literal text, never with unsafe_allow_html. An error quoting `echo`, what this user
    just typed, is only required to allow no HTML: it is shown to that user alone."""
    assert not at.exception, at.exception
    assert not at.get("html")
    for kind, source, allow_html in markdown_texts(at):
        for text in strings:
            if allow_html:
                assert text not in source and literal(text) not in source, (kind, source)
            own = echo is not None and kind == "error" and repr(echo) in source
            if text in source and not own:
                assert shows_literally(source, text), (kind, source, text)


@pytest.fixture
def dash_url(tmp_path, monkeypatch):
    """The pages' database; no broker (these tests never need one)."""
    yield from dashboard_database(tmp_path, monkeypatch, NO_BROKER)


@pytest.fixture
def hostile(dash_url, sample_result) -> dict[str, str]:
    """A succeeded job per hostile string (its label, group id and data_root), then, newest
    and so selected first on Jobs, a failed job whose error message quotes every string."""
    base, result = sample_result
    jobs = {}
    for i, text in enumerate(STRINGS):
        spec = base.with_overrides(seed=i, data_root=text)
        jobs[text] = seed(dash_url, spec, variant(result, spec), label=text, group_id=text)
    failed = create_job(BenchSpec(), url=dash_url, status="running", label="failed")
    message = "no data files under:\n\n" + "\n\n".join(STRINGS)  # a paragraph each
    mark_failed(failed, "DataError", message, dash_url)
    jobs["failed"] = failed
    return jobs


# Jobs -----------------------------------------------------------------------------------


def test_jobs_shows_hostile_labels_and_groups_only_as_data(hostile):
    """In the table, the group choices and the job choices, each string verbatim."""
    at = page("jobs").run()
    assert_inert(at)
    table = at.dataframe[0].value
    assert set(STRINGS) <= set(table["label"]) and set(STRINGS) <= set(table["group"])
    assert set(STRINGS) <= set(at.selectbox(key="jobs_group").options)
    options = " ".join(at.selectbox(key="jobs_selected").options)
    assert all(text in options for text in STRINGS)


def test_a_hostile_error_message_is_shown_as_literal_text(hostile):
    """Error messages quote user text (a data_root, say); st.error renders Markdown."""
    at = page("jobs").run()
    assert at.selectbox(key="jobs_selected").value == hostile["failed"]
    [error] = [e.value for e in at.error]
    assert_inert(at)
    for text in STRINGS:
        assert shows_literally(error, text), (error, text)


@pytest.mark.parametrize("text", STRINGS, ids=ids(STRINGS))
def test_the_jobs_label_filter_matches_a_hostile_label_exactly(hostile, text):
    """The label box is an exact match: '%' and '_' select their own job, not every job."""
    at = page("jobs").run()
    at.text_input(key="jobs_label").input(text).run()
    assert_inert(at)
    assert list(at.dataframe[0].value["label"]) == [text]
    assert at.selectbox(key="jobs_selected").value == hostile[text]


@pytest.mark.parametrize("text", STRINGS, ids=ids(STRINGS))
def test_the_jobs_group_filter_matches_a_hostile_group_exactly(hostile, text):
    at = page("jobs").run()
    at.selectbox(key="jobs_group").set_value(text).run()
    assert_inert(at)
    assert list(at.dataframe[0].value["group"]) == [text]


# Compare --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", STRINGS, ids=ids(STRINGS))
def test_compare_a_hostile_group_shows_its_label_literally_on_the_cards(hostile, text):
    """A metric card's label is Markdown: the job's label in it must come out as typed."""
    at = page("compare").run()
    at.selectbox(key="cmp_group").set_value(text).run()
    assert_inert(at)
    [card] = at.metric
    assert card.label.startswith(hostile[text][:8])
    assert shows_literally(card.label, f"{hostile[text][:8]} {text}: training throughput")
    assert baseline_picker(at).options == [f"{hostile[text][:8]} {text}"]


@pytest.mark.parametrize("text", STRINGS, ids=ids(STRINGS))
def test_the_compare_filter_takes_hostile_text_as_a_value_or_an_inert_error(hostile, text):
    """`data_root=<text>` selects the one job holding it, `family=<text>` nothing, and the
    bare string is explained in an error that quotes it (as Markdown: see assert_inert)."""
    at = page("compare").run()
    at.text_input(key="cmp_filter").input(f"data_root={text}").run()
    assert_inert(at)
    if "," not in text:  # the filter box splits pairs at commas
        figures = next(d.value for d in at.dataframe if "timing" in d.value.columns)
        assert list(figures["run"]) == [f"{hostile[text][:8]} {text}"]
    at.text_input(key="cmp_filter").input(f"family={text}").run()
    assert_inert(at)
    assert not at.dataframe and "No finished jobs" in at.info[0].value
    at.text_input(key="cmp_filter").input(text).run()
    assert_inert(at, echo=text)
    if "=" not in text and "," not in text:
        [error] = [e.value for e in at.error]
        assert f"expected key=value, got {text!r}" in error


# Submit ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", STRINGS, ids=ids(STRINGS))
def test_submit_stores_a_hostile_label_group_and_data_root_exactly(dash_url, monkeypatch, text):
    """No broker: the message that would be sent is recorded instead."""
    sent = []
    monkeypatch.setattr("worker.client.send", sent.append)
    monkeypatch.setattr("worker.client.require_broker", lambda *_: None)
    at = page("submit").run()
    at.text_input(key="label").input(text)
    at.text_input(key="group").input(text)
    at.text_input(key="spec.data_root").input(text)
    at.text_input(key="gpu_model_route").input(text)
    at.button(key="submit").click().run()
    assert_inert(at)
    assert not at.error, [e.value for e in at.error]
    [job] = query_records(ResultFilter(label=text))
    assert (job["label"], job["group_id"], job["spec.data_root"]) == (text, text, text)
    assert job["queue"] == f"gpu.{gpu_slug(text)}"
    assert [d.job_id for d in sent] == [job["job_id"]]
    [done] = [s.value for s in at.success]
    assert shows_literally(done, text)


# The HTML suite report ------------------------------------------------------------------


class Page(HTMLParser):
    """Tags, script bodies and visible text of an HTML page, parsed as a browser would."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._in_script = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "script":
            self._in_script = True
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)


ARMS = {"before_activation": (0.80, 0.81), "after_activation": (0.70, 0.72)}


@pytest.fixture
def report_html(dash_url, sample_result) -> str:
    """The HTML report of a run of the BN-position claim in a group whose id is hostile, with
    one more arm per hostile string (the arm is whatever follows ':' in a job's label)."""
    base, result = sample_result
    exp = suites()["article"].experiment("bn_before_activation")
    group = "suite-article-ci-" + " ".join(STRINGS)
    arms = {**ARMS, **{text: (0.5, 0.6) for text in STRINGS}}
    n = 0
    for arm, accs in arms.items():
        for acc in accs:
            spec = base.with_overrides(seed=n)
            r = variant(result, spec, best_val_accuracy=acc, final_test_accuracy=acc)
            seed(dash_url, spec, r, group_id=group, label=f"{exp.runs_key}:{arm}")
            n += 1
    suite = Suite("article", "BN position, judged on hostile arms", (exp,))
    by_exp = results_by_experiment(group)
    verdicts = evaluate(suite, group, measurements=False, data=by_exp)
    return render(suite, group, verdicts, by_exp)


def test_the_html_report_escapes_the_group_and_embeds_arms_only_as_json_data(report_html):
    """Parsed as a browser would: no injected tag or script; the arms (from labels) come
    back from the chart's JSON exactly, the group id as text."""
    doc = Page(report_html)
    assert "img" not in doc.tags
    cdn = [s for s in doc.scripts if not s.strip()]
    [chart] = [s for s in doc.scripts if s.strip()]  # one evidence chart, no injected script
    assert len(cdn) == 3
    assert chart.startswith('vegaEmbed("#chart0-0", ') and chart.endswith(");")
    spec = json.loads(chart.removeprefix('vegaEmbed("#chart0-0", ').removesuffix(");"))
    [rows] = spec["datasets"].values()
    assert {r["arm"] for r in rows} == set(ARMS) | set(STRINGS)
    text = "".join(doc.text)
    assert "Results of group suite-article-ci-" + " ".join(STRINGS) in text
    assert "</script>" not in chart and "<script>" not in chart


# In a real browser ----------------------------------------------------------------------

needs_chromium = pytest.mark.skipif(
    not shutil.which(CHROMIUM),
    reason="Debian's chromium is not installed; .ci/run and `make browser` install it",
)
# Anything a hostile string could have turned into live markup.
INJECTED = """() => ({
    imgs: document.querySelectorAll('img[src="x"]').length,
    scripts: [...document.scripts].filter(s => s.text.includes("alert(1)")).length,
    js_links: document.querySelectorAll('a[href^="javascript:" i]').length,
    links: [...document.querySelectorAll("a")].filter(e => e.textContent === "link").length,
    bold: [...document.querySelectorAll("strong, b")].filter(
        e => e.textContent === "bold").length,
})"""
CLEAN = {"imgs": 0, "scripts": 0, "js_links": 0, "links": 0, "bold": 0}
# Streamlit's Markdown turns a free-standing "--" into an em dash (and "->" into an arrow...)
# in text, escaped or not: typography, not markup.
TYPOGRAPHY = [("--", "\u2014"), ("->", "\u2192"), ("<=", "\u2264"), (">=", "\u2265")]


def as_displayed(text: str) -> str:
    for old, new in TYPOGRAPHY:
        text = re.sub(rf"(^|\s){re.escape(old)}(\s|$)", rf"\g<1>{new}\g<2>", text)
    return text


@pytest.fixture
def browser_page():
    """A Chromium page that records every alert/confirm dialog instead of blocking on it."""
    with chromium_page() as page_:
        page_.dialogs = []

        def on_dialog(dialog):
            page_.dialogs.append(dialog.message)
            dialog.dismiss()

        page_.on("dialog", on_dialog)
        yield page_


@pytest.fixture
def dashboard_url(hostile, tmp_path):
    with running_dashboard(tmp_path) as base:
        yield base


@needs_chromium
def test_in_a_browser_hostile_labels_stay_text_on_jobs_and_compare(
    dashboard_url, browser_page, hostile
):
    """The Jobs error message, the Group choices and each Compare card: no injected image,
    script, link or bold text, no alert dialog, and the text as typed."""
    from playwright.sync_api import expect

    page_ = browser_page
    page_.goto(f"{dashboard_url}/")  # Jobs is the default page, its path is the root
    alert = page_.get_by_test_id("stAlertContainer").first
    alert.wait_for()
    shown = alert.inner_text()
    assert all(as_displayed(text) in shown for text in STRINGS), shown  # literally
    page_.get_by_role("combobox", name="Group").click()  # every hostile group as an option
    page_.get_by_role("option", name=BREAKOUT, exact=True).wait_for()
    page_.wait_for_timeout(500)
    assert page_.evaluate(INJECTED) == CLEAN
    page_.keyboard.press("Escape")

    for text in STRINGS:
        page_.goto(f"{dashboard_url}/compare")
        page_.get_by_role("combobox", name="Group").click()
        page_.get_by_role("option", name=text, exact=True).click()
        label = f"{hostile[text][:8]} {text}: training throughput"
        expect(page_.get_by_test_id("stMetricLabel")).to_have_text([as_displayed(label)])
        page_.wait_for_timeout(300)
        assert page_.evaluate(INJECTED) == CLEAN, text
    assert page_.dialogs == []


@needs_chromium
def test_in_a_browser_the_html_report_runs_no_injected_script(report_html, browser_page):
    """A label '...:</script><script>alert(1)</script>' used to fire alert() twice here."""
    page_ = browser_page
    page_.route("**/*", lambda route: route.abort())  # the CDN is out of reach anyway
    page_.set_content(report_html, wait_until="domcontentloaded")
    page_.wait_for_timeout(500)
    assert page_.dialogs == []
    assert page_.evaluate(INJECTED)["imgs"] == 0
    assert page_.evaluate("document.scripts.length") == 4  # three CDN tags and the chart
    group = page_.locator("p code").first.inner_text()
    assert group == "suite-article-ci-" + " ".join(STRINGS)
