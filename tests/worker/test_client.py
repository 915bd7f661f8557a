"""One sweep path for the CLI, the dashboard and Python: parse_grid reads `field=v1,v2`
items, and submit_grid records and sends every combination, each with its seeds, as one
group, all or nothing."""

import pytest
import redis

from core.spec.parse import SpecError
from core.spec.schema import BenchSpec
from tests.services import TINY
from tests.worker.job_rows import jobs
from worker.client import parse_grid, submit_grid


def test_grid_items_are_read_like_set_values():
    grid = parse_grid(["dropout_p=0, 0.5", "norm=batchnorm,none", "  "], "--grid")
    assert grid == {"dropout_p": [0, 0.5], "norm": ["batchnorm", "none"]}


@pytest.mark.parametrize("bad", ["dropout_p 0.1", "dropout_p="])
def test_a_bad_grid_item_names_its_input_and_the_fix(bad):
    with pytest.raises(SpecError) as e:
        parse_grid([bad], "sweep")
    [(field, message)] = e.value.problems
    assert field == "sweep" and "field=v1,v2" in message and bad in message


def test_a_grid_with_seeds_is_one_group_of_every_combination(queue_env):
    base = BenchSpec(**TINY, seed=10)
    grid = parse_grid(["dropout_p=0,0.5", "norm=batchnorm,none"], "--grid")
    group, ids = submit_grid(base, grid, repeats=2, label="grid-test")
    rows = jobs()
    assert group.startswith("sweep-") and len(ids) == len(set(ids)) == 8
    assert {rows[i].group_id for i in ids} == {group}
    combos = {(rows[i].spec_json["dropout_p"], rows[i].spec_json["norm"], rows[i].spec_json["seed"])
              for i in ids}  # fmt: skip
    assert combos == {(p, n, s) for p in (0, 0.5) for n in ("batchnorm", "none") for s in (10, 11)}
    queued = redis.Redis.from_url(queue_env["BNBENCH_BROKER_URL"]).llen("cpu")
    assert queued >= 8  # each sent once recorded


def test_one_spec_is_no_sweep(queue_env):
    group, ids = submit_grid(BenchSpec(**TINY))
    assert group is None and len(ids) == 1 and jobs()[ids[0]].group_id is None


def test_an_invalid_combination_records_nothing(queue_env):
    with pytest.raises(SpecError) as e:
        submit_grid(BenchSpec(**TINY), {"batch_size": [16, 0]})
    assert e.value.problems[0][0] == "batch_size"
    assert jobs() == {}
