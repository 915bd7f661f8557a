"""docs/schema.md: its table reference is generated, and its SQL runs on both backends."""

import re
from pathlib import Path

import pytest
from sqlalchemy import text

from core.store.db import get_engine
from core.store.schema_docs import schema_markdown
from tests.dbseed import seed, variant

DOC = Path(__file__).resolve().parents[3] / "docs" / "schema.md"
QUERIES = dict(re.findall(r"<!-- query: ([\w-]+) -->\n```sql\n(.*?)```", DOC.read_text(), re.S))
H100 = {"gpu_name": "NVIDIA H100 80GB HBM3", "device": "cuda"}

# (norm, gpu, dropout_p, samples/s, generalization gap)
ROWS = [
    ("batchnorm", None, 0.1, 100.0, 0.10),
    ("batchnorm", None, 0.1, 300.0, 0.30),
    ("batchnorm", None, 0.5, 200.0, 0.05),
    ("none", None, 0.5, 400.0, 0.15),
    ("none", None, 0.5, 500.0, 0.25),
    ("batchnorm", H100, 0.1, 1000.0, 0.20),
    ("none", H100, 0.1, 2000.0, 0.40),
    ("none", H100, 0.0, 4000.0, 0.50),
    ("none", H100, 0.0, 3000.0, 0.60),
]


@pytest.fixture
def seeded(db_url, sample_result):
    base, result = sample_result
    for i, (norm, gpu, p, tps, gap) in enumerate(ROWS):
        spec = base.with_overrides(norm=norm, dropout_p=p, seed=i)
        tp = result.model.throughput.model_copy(update={"samples_per_s": tps})
        seed(
            db_url,
            spec,
            variant(result, spec, provenance=gpu, throughput=tp, generalization_gap=gap),
            group_id="sweep",
        )
    return db_url


def run_sql(url, sql):
    with get_engine(url, readonly=True).connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def test_table_reference_is_up_to_date():
    assert schema_markdown() in DOC.read_text(), "regenerate with: bnbench db docs"


def test_the_doc_has_the_questions_users_ask():
    assert {"bn-throughput-by-gpu", "gap-by-dropout"} <= set(QUERIES)


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_every_example_query_runs(seeded, name):
    run_sql(seeded, QUERIES[name])


def test_median_throughput_of_bn_vs_no_bn_per_gpu(seeded):
    rows = run_sql(seeded, QUERIES["bn-throughput-by-gpu"])
    got = {(gpu, norm): (pytest.approx(median), runs) for gpu, norm, median, runs in rows}
    assert got == {
        ("NVIDIA H100 80GB HBM3", "batchnorm"): (1000.0, 1),
        ("NVIDIA H100 80GB HBM3", "none"): (3000.0, 3),  # odd count: the middle one
        ("cpu", "batchnorm"): (200.0, 3),
        ("cpu", "none"): (450.0, 2),  # even count: mean of the two middle ones
    }


def test_generalization_gap_by_dropout_p(seeded):
    rows = run_sql(seeded, QUERIES["gap-by-dropout"])
    assert [(p, n) for p, n, *_ in rows] == [(0.0, 2), (0.1, 4), (0.5, 3)]
    means = {p: mean for p, _, mean, _, _ in rows}
    assert means[0.0] == pytest.approx(0.55)
    assert means[0.1] == pytest.approx(0.25)
    assert means[0.5] == pytest.approx(0.15)
