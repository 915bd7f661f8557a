"""History: a series with a real slowdown, its change marked and linked to Compare."""

import pytest

from tests.dashboard.conftest import page
from tests.history_runs import interleaved, store


@pytest.fixture(scope="module")
def slowdown():
    with pytest.MonkeyPatch.context() as mp:
        return interleaved(mp, {"before": "1", "oversubscribed": "8"}, repeats=5)


def test_the_change_is_listed_with_a_link_to_its_comparison(dash_db, slowdown, monkeypatch):
    monkeypatch.setenv("BNBENCH_DASHBOARD_URL", "http://bench.example:8501/")
    ids = store(dash_db, slowdown)
    at = page("history").run()
    assert not at.exception
    [table] = at.dataframe
    [change] = table.value.to_dict("records")
    assert change["status"] == "regression" and change["what changed"] == "threads 1→8"
    assert change["compare"] == (
        "http://bench.example:8501/compare?jobs=" + ",".join(ids["before"] + ids["oversubscribed"])
    )


def test_compare_opens_the_jobs_of_a_link(dash_db, slowdown):
    ids = store(dash_db, slowdown)
    at = page("compare")
    at.query_params["jobs"] = ",".join(ids["before"][:2] + ids["oversubscribed"][:2])
    at.run()
    assert not at.exception
    assert any("The 4 jobs of the link" in c.value for c in at.caption)
