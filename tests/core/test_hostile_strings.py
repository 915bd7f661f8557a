"""Hostile text (SQL, HTML, Markdown, format codes, LIKE wildcards) in every text field.

Labels, group ids and spec text values are stored byte for byte, filters match them exactly
(never as SQL or as LIKE patterns), the tables survive, and the CLI prints them verbatim.
Every database test runs on SQLite and on the real PostgreSQL (the `db_url` fixture).
"""

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import func, inspect, select

from cli import main
from core.spec.schema import BenchSpec
from core.store.db import get_engine, session_scope
from core.store.jobs import create_job
from core.store.read import (
    JobNotFound,
    ResultFilter,
    compare_repeats,
    group_ids,
    query_records,
    resolve_job_id,
)
from core.store.tables import Job
from tests.dbseed import seed, variant

HOSTILE = [
    "'; DROP TABLE jobs; --",
    '" OR 1=1 --',
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "**bold** [link](javascript:alert(1))",
    "%s {0} ünï 🧪 \u202e",
    "%",
    "_",
]
DECOY = "decoy"
TABLES = {"jobs", "results", "environments", "epoch_metrics"}

# Rich reads "[...]" as console markup; the CLI escapes user text, so these print verbatim
# (unescaped, "[red]" would vanish and "[/]" would raise MarkupError).
RICH_MARKUP = ["[/]", "[red]red[/red]"]


def verbatim_cases() -> list:
    return [pytest.param(s, id=repr(s)) for s in [*HOSTILE, *RICH_MARKUP]]


def ids(strings: list[str]) -> list[str]:
    return [repr(s) for s in strings]


@pytest.fixture
def hostile_jobs(db_url) -> dict[str, str]:
    """One queued job per hostile string, used as its label, group id and data_root, and a
    decoy job; returns {string: job id}."""
    jobs = {s: create_job(BenchSpec(data_root=s), url=db_url, label=s, group_id=s) for s in HOSTILE}
    jobs[DECOY] = create_job(BenchSpec(), url=db_url, label=DECOY, group_id=DECOY)
    return jobs


def job_count(url: str) -> int:
    with session_scope(url, readonly=True) as s:
        return s.scalar(select(func.count()).select_from(Job))


def test_labels_groups_and_spec_text_round_trip_byte_for_byte(hostile_jobs, db_url):
    """What is read back, through the ORM and through query_records, is what was written."""
    with session_scope(db_url, readonly=True) as s:
        stored = {
            job_id: (label, group, spec["data_root"])
            for job_id, label, group, spec in s.execute(
                select(Job.id, Job.label, Job.group_id, Job.spec_json)
            )
        }
    records = {r["job_id"]: r for r in query_records()}
    for text in HOSTILE:
        job_id = hostile_jobs[text]
        label, group, data_root = stored[job_id]
        assert label.encode() == group.encode() == data_root.encode() == text.encode()
        rec = records[job_id]
        assert (rec["label"], rec["group_id"], rec["spec.data_root"]) == (text, text, text)


@pytest.mark.parametrize("field", ["label", "group_id"])
@pytest.mark.parametrize("text", HOSTILE, ids=ids(HOSTILE))
def test_a_hostile_label_or_group_filter_matches_exactly_that_job(
    hostile_jobs, db_url, field, text
):
    """Label and group filters are exact equality: '%' and '_' are not LIKE wildcards and
    "' OR 1=1" is not SQL, so each matches its own job and no other."""
    recs = query_records(ResultFilter(**{field: text}))
    assert [r["job_id"] for r in recs] == [hostile_jobs[text]]
    assert recs[0][field] == text


@pytest.mark.parametrize("text", HOSTILE, ids=ids(HOSTILE))
def test_a_hostile_spec_text_value_matches_only_the_job_that_holds_it(hostile_jobs, text):
    """Spec filters compare the JSON value to a bound parameter."""
    recs = query_records(ResultFilter(spec={"data_root": text}))
    assert [r["job_id"] for r in recs] == [hostile_jobs[text]]


@pytest.mark.parametrize("text", HOSTILE, ids=ids(HOSTILE))
def test_a_hostile_value_for_a_choice_field_matches_nothing_and_raises_nothing(hostile_jobs, text):
    assert query_records(ResultFilter(spec={"family": text})) == []
    assert query_records(ResultFilter(spec={"family": [text, "no-such-family"]})) == []
    assert compare_repeats(ResultFilter(spec={"family": text}, group_id=text)).empty


@pytest.mark.parametrize("field", ["depth", "dropout_p", "bn_affine"])
def test_a_text_value_for_a_number_or_bool_field_is_a_clear_error(hostile_jobs, field):
    """The same ValueError on both backends (PostgreSQL used to raise ProgrammingError, which
    the dashboard reported as an unreachable database)."""
    for text in HOSTILE:
        with pytest.raises(ValueError, match=field):
            query_records(ResultFilter(spec={field: text}))


def test_the_tables_and_every_row_survive_all_the_hostile_filters(hostile_jobs, db_url):
    for text in HOSTILE:
        for f in (
            ResultFilter(label=text),
            ResultFilter(group_id=text),
            ResultFilter(spec={"family": text, "data_root": text}),
            ResultFilter(gpu=text),
        ):
            query_records(f)
    assert set(inspect(get_engine(db_url)).get_table_names()) >= TABLES
    assert job_count(db_url) == len(HOSTILE) + 1
    assert len(query_records()) == len(HOSTILE) + 1


def test_group_ids_lists_hostile_groups_verbatim(hostile_jobs):
    assert sorted(group_ids()) == sorted([*HOSTILE, DECOY])


@pytest.fixture
def gpu_jobs(db_url, sample_result) -> dict[str, str]:
    """Succeeded jobs on GPUs whose names hold a literal '%' or '_', and one on a plain GPU."""
    base, result = sample_result
    names = ["Odd 100% GPU", "odd_gpu", "NVIDIA H100"]
    out = {}
    for i, name in enumerate(names):
        spec = base.with_overrides(seed=i)
        r = variant(result, spec, provenance={"gpu_name": name, "device": "cuda"})
        out[name] = seed(db_url, spec, r)
    return out


@pytest.mark.parametrize(
    ("text", "expected"),
    [("%", ["Odd 100% GPU"]), ("_", ["odd_gpu"]), ("0% g", ["Odd 100% GPU"]), ("x%", [])],
)
def test_the_gpu_filter_is_a_literal_case_blind_substring(gpu_jobs, text, expected):
    """--gpu is a substring of the GPU name: a '%' or '_' in it is a character, not a LIKE
    wildcard that would match every GPU."""
    recs = query_records(ResultFilter(gpu=text))
    assert sorted(r["job_id"] for r in recs) == sorted(gpu_jobs[n] for n in expected)
    assert len(query_records(ResultFilter(gpu="h100"))) == 1


@pytest.mark.parametrize("prefix", ["%%%%", "____", "%_%_"])
def test_a_job_id_prefix_of_like_wildcards_names_no_job(db_url, prefix):
    """`bnbench cancel %%%%` must not cancel whichever job happens to be the only one."""
    create_job(BenchSpec(), url=db_url)
    with pytest.raises(JobNotFound, match="no job id starts with"):
        resolve_job_id(prefix)


# The CLI -----------------------------------------------------------------------------


@pytest.fixture
def cli(monkeypatch):
    monkeypatch.setenv("COLUMNS", "240")  # rich sizes tables from it
    return CliRunner()


def invoke(cli, args: list[str], code: int = 0):
    res = cli.invoke(main, args, terminal_width=240)
    assert res.exit_code == code, (res.output, res.exception)
    return res


@pytest.mark.parametrize("option", ["--label", "--group"])
@pytest.mark.parametrize("text", HOSTILE, ids=ids(HOSTILE))
def test_results_json_round_trips_a_hostile_label_or_group(hostile_jobs, cli, option, text):
    rows = json.loads(invoke(cli, ["results", option, text, "--format", "json"]).stdout)
    assert [r["job_id"] for r in rows] == [hostile_jobs[text]]
    assert (rows[0]["label"], rows[0]["group_id"], rows[0]["spec.data_root"]) == (text,) * 3


@pytest.mark.parametrize("text", HOSTILE, ids=ids(HOSTILE))
def test_results_where_with_a_hostile_value_matches_only_its_job(hostile_jobs, cli, text):
    args = ["results", "--where", f"data_root={text}", "--format", "json"]
    rows = json.loads(invoke(cli, args).stdout)
    assert [r["job_id"] for r in rows] == [hostile_jobs[text]]
    out = invoke(cli, ["results", "--where", f"family={text}"]).stdout
    assert "No matching jobs" in out


def test_results_where_with_text_for_a_number_field_is_a_clean_error(hostile_jobs, cli):
    res = invoke(cli, ["results", "--where", f"depth={HOSTILE[0]}"], code=2)
    assert "error:" in res.stderr and "depth" in res.stderr


@pytest.fixture
def one_label(db_url):
    """Write one job labelled and grouped `text`; returns its id."""

    def make(text: str) -> str:
        return create_job(BenchSpec(), url=db_url, label=text, group_id=text)

    return make


@pytest.mark.parametrize("text", verbatim_cases())
def test_the_results_table_prints_a_hostile_label_verbatim(one_label, cli, text):
    job_id = one_label(text)
    out = invoke(cli, ["results"]).stdout
    assert job_id[:8] in out and text in out


@pytest.mark.parametrize("text", verbatim_cases())
def test_the_jobs_table_prints_a_hostile_label_verbatim(one_label, cli, text):
    job_id = one_label(text)
    for args in (["jobs"], ["jobs", "--label", text], ["jobs", "--group", text]):
        out = invoke(cli, args).stdout
        assert "1 most recent job\n" in out and job_id[:8] in out and text in out


@pytest.mark.parametrize("text", verbatim_cases())
def test_show_prints_a_hostile_label_verbatim_and_as_json(one_label, cli, text):
    job_id = one_label(text)
    rec = json.loads(invoke(cli, ["show", job_id, "--json"]).stdout)
    assert (rec["label"], rec["group_id"]) == (text, text)
    assert text in invoke(cli, ["show", job_id]).stdout


@pytest.mark.parametrize("text", verbatim_cases())
def test_compare_names_a_hostile_group_without_jobs_in_a_clean_error(one_label, cli, text):
    one_label(text)
    res = invoke(cli, ["compare", "--group", text], code=2)
    assert f"group {text!r} has no succeeded jobs" in res.stderr


@pytest.mark.parametrize("text", verbatim_cases())
def test_submit_stores_a_hostile_label_and_group_exactly(db_url, cli, monkeypatch, text):
    """No broker here: the PING passes and the message that would be sent is recorded."""
    sent = []
    monkeypatch.setattr("worker.client.send", sent.append)
    monkeypatch.setattr("worker.client.require_broker", lambda *_: None)
    res = invoke(cli, ["submit", "--preset", "smoke", "--label", text, "--group", text])
    [rec] = query_records()
    assert (rec["label"], rec["group_id"]) == (text, text)
    assert [d.job_id for d in sent] == [rec["job_id"]]
    assert res.stdout.split() == [rec["job_id"]]
    assert f"group {text}: 1 job\n" in res.stderr
