"""Labels, tags and notes after submission; archiving hides, deleting removes every row."""

from click.testing import CliRunner

from cli import main
from core.store.annotations import group_note, tags_of, was_deleted
from core.store.read import ResultFilter, query_records

SMOKE = ["run", "--preset", "smoke", "--device", "cpu", "--epochs", "1", "--group", "sw"]


def invoke(args, code=0, input=None):
    res = CliRunner().invoke(main, args, input=input, terminal_width=200)
    assert res.exit_code == code, res.output
    return res


def test_tag_note_and_rename_jobs_then_filter_by_tag(db_url):
    for p in ("0.1", "0.5"):
        invoke([*SMOKE, "--dropout-p", p])
    first, second = (r["job_id"] for r in query_records())
    invoke(["tag", first[:8], "--add", "baseline", "--add", "p-sweep", "--note", "the reference",
            "--label", "ref"])  # fmt: skip
    invoke(["tag", "--group", "sw", "--add", "p-sweep", "--note", "dropout sweep, smoke data"])
    assert tags_of([first, second]) == {first: ["baseline", "p-sweep"], second: ["p-sweep"]}
    [ref] = query_records(ResultFilter(tags=("baseline",)))
    assert (ref["job_id"], ref["label"], ref["note"], ref["tags"]) == (
        first,
        "ref",
        "the reference",
        "baseline, p-sweep",
    )
    assert group_note("sw") == "dropout sweep, smoke data"
    out = invoke(["results", "--tag", "p-sweep", "--format", "csv"]).stdout
    assert len(out.strip().splitlines()) == 3  # a header and both jobs
    invoke(["tag", first[:8], "--remove", "baseline"])
    assert query_records(ResultFilter(tags=("baseline",))) == []


def test_an_archived_group_is_hidden_until_asked_for_and_can_come_back(db_url):
    invoke(SMOKE)
    assert "1 job archived" in invoke(["archive", "--group", "sw"]).stdout
    assert query_records() == []
    assert "No matching jobs" in invoke(["results"]).stdout
    assert len(query_records(ResultFilter(archived=True))) == 1
    assert "sw" in invoke(["results", "--archived", "only", "--format", "csv"]).stdout
    invoke(["archive", "--group", "sw", "--undo"])
    assert len(query_records()) == 1


def test_delete_asks_first_removes_every_row_and_remembers_the_id(db_url):
    from sqlalchemy import func, select

    from core.store.db import session_scope
    from core.store.tables import EpochMetric, Result

    invoke(SMOKE)
    [job] = query_records()
    invoke(["delete", job["job_id"][:8]], code=1, input="n\n")  # declined: nothing changes
    assert len(query_records()) == 1
    assert "1 job deleted" in invoke(["delete", "--group", "sw"], input="y\n").stdout
    assert query_records(ResultFilter(archived=None)) == []
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Result)) == 0
        assert s.scalar(select(func.count()).select_from(EpochMetric)) == 0
    assert was_deleted(job["job_id"])


def test_a_queued_job_is_not_deleted(db_url):
    from core.spec.schema import BenchSpec
    from core.store.jobs import create_job

    job_id = create_job(BenchSpec(), url=db_url)
    res = invoke(["delete", job_id[:8], "--yes"], code=1)
    assert "still queued or running" in res.stderr and len(query_records()) == 1


def test_tags_are_checked(db_url):
    invoke(SMOKE)
    res = invoke(["tag", "--group", "sw", "--add", "x" * 65], code=2)
    assert "give 1 to 64 characters" in res.stderr
