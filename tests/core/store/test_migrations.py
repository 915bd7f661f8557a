"""Migrations take any database to head, match the models, and survive concurrent starts."""

import hashlib
import itertools
import multiprocessing as mp
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from core.spec.schema import BenchSpec
from core.store.db import get_engine
from core.store.migrate import check, current_revision, head_revision, upgrade
from core.store.migrations.view_ddl import REVISIONS, columns_at, job_results_view
from core.store.read import RESULT_COLUMNS
from core.store.tables import Base


def test_empty_database_upgrades_to_head(empty_db_url):
    assert current_revision(empty_db_url) is None
    upgrade(empty_db_url)
    assert current_revision(empty_db_url) == head_revision()
    tables = set(inspect(get_engine(empty_db_url)).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_models_do_not_drift_from_migrations(db_url):
    check(db_url)  # alembic check: raises if autogenerate would emit anything


def test_upgrade_is_idempotent(db_url):
    upgrade(db_url)
    assert current_revision(db_url) == head_revision()


def test_downgrade_to_base_and_back(db_url):
    from alembic import command

    from core.store.migrate import alembic_config

    command.downgrade(alembic_config(db_url), "base")
    assert current_revision(db_url) is None
    upgrade(db_url)
    assert current_revision(db_url) == head_revision()


def _upgrade_in_child(url: str) -> None:
    from core.store.migrate import upgrade

    upgrade(url)


def test_concurrent_upgrades_from_several_processes(empty_db_url):
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_upgrade_in_child, args=(empty_db_url,)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    assert current_revision(empty_db_url) == head_revision()


def test_job_results_view_has_every_spec_field_and_result_column(db_url):
    with get_engine(db_url).connect() as conn:
        cols = set(conn.execute(text("SELECT * FROM job_results WHERE 1 = 0")).keys())
    missing = {f"spec_{n}" for n in BenchSpec.model_fields if n != "spec_version"} - cols
    missing |= set(RESULT_COLUMNS) - cols  # what the query API offers, SQL users get too
    assert not missing, f"add a migration that recreates job_results with {sorted(missing)}"


@pytest.mark.parametrize("table", sorted(Base.metadata.tables))
def test_every_column_has_a_docstring(table):
    for col in Base.metadata.tables[table].columns:
        assert col.comment, f"{table}.{col.name} needs doc="


def test_regression_rows_from_before_0013_get_rmse_from_their_loss(db_url, sample_result):
    from alembic import command

    from core.store.migrate import alembic_config
    from tests.dbseed import seed, variant

    spec, result = sample_result
    reg = variant(result, spec.model_copy(update={"seed": 99}), task="regression",
                  final_val_loss=6.25, final_val_r2=0.4, final_val_rmse=2.5)  # fmt: skip
    job_id = seed(db_url, spec.model_copy(update={"seed": 99}), reg)
    command.downgrade(alembic_config(db_url), "0012")
    upgrade(db_url)
    with get_engine(db_url).connect() as conn:
        row = conn.execute(
            text("SELECT final_val_rmse, final_val_r2 FROM job_results WHERE job_id = :j"),
            {"j": job_id},
        ).one()
    assert row == (2.5, None)  # R² needs the targets' variance, which no old row kept


def test_ensure_schema_reads_the_revision_once_per_process_and_database(db_url, monkeypatch):
    import core.store.migrate as migrate
    from core.store.db import dispose_engines

    reads = []
    real = migrate.current_revision
    monkeypatch.setattr(
        migrate, "current_revision", lambda url=None: reads.append(url) or real(url)
    )
    for _ in range(3):
        migrate.ensure_schema(db_url)
    assert len(reads) == 1
    dispose_engines()  # a forked child or a new engine checks again
    migrate.ensure_schema(db_url)
    assert len(reads) == 2


def test_a_database_migrated_by_a_newer_bnbench_names_the_fix(db_url):
    from click.testing import CliRunner

    from cli import main
    from core.store.db import dispose_engines

    with get_engine(db_url).begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    dispose_engines()
    res = CliRunner().invoke(main, ["jobs"])
    assert res.exit_code == 2, res.output
    assert "at migration 0999, newer than this bnbench knows" in res.stderr
    assert "update bnbench here" in res.stderr and "Traceback" not in res.output


def test_jobs_from_before_0015_get_their_indexed_spec_columns_from_spec_json(db_url):
    from alembic import command

    from core.store.jobs import create_job
    from core.store.migrate import alembic_config
    from core.store.read import ResultFilter, query_records

    spec = BenchSpec(family="cnn", norm="groupnorm", dropout_p=0.25, batch_size=48)
    job_id = create_job(spec, url=db_url)
    command.downgrade(alembic_config(db_url), "0014")
    upgrade(db_url)
    with get_engine(db_url).connect() as conn:
        row = conn.execute(
            text("SELECT spec_family, spec_norm, spec_dropout_p, spec_batch_size, spec_dataset "
                 "FROM jobs WHERE id = :j"), {"j": job_id},
        ).one()  # fmt: skip
    assert tuple(row) == ("cnn", "groupnorm", 0.25, 48, "synthetic")
    f = ResultFilter(spec={"norm": "groupnorm", "dropout_p": 0.25}, archived=None)
    assert [r["job_id"] for r in query_records(f, url=db_url)] == [job_id]


def test_the_filtered_spec_fields_are_indexed_columns_on_every_new_job(db_url):
    from core.store.db import session_scope
    from core.store.jobs import create_job
    from core.store.tables import INDEXED_SPEC_FIELDS, Job

    spec = BenchSpec(dropout_p=0.1, device="cpu", precision="bf16")
    job_id = create_job(spec, url=db_url)
    with session_scope(db_url) as s:
        job = s.get(Job, job_id)
        assert {k: getattr(job, f"spec_{k}") for k in INDEXED_SPEC_FIELDS} == {
            k: getattr(spec, k) for k in INDEXED_SPEC_FIELDS
        }


MIGRATIONS = Path(__file__).resolve().parents[3] / "core" / "store" / "migrations" / "versions"


def test_no_migration_loads_another():
    """Each builds job_results through the frozen core.store.migrations.view_ddl instead."""
    paths = sorted(MIGRATIONS.glob("*.py"))
    assert len(paths) >= 16, f"no migrations found under {MIGRATIONS}"
    for path in paths:
        source = path.read_text()
        assert "get_revision" not in source and "ScriptDirectory" not in source, path.name


def test_the_view_as_each_revision_left_it_is_frozen():
    """A new view is a new entry in REVISIONS, never an edit of a written one: the DDL of
    every written revision hashes as it did when 0016 was head."""
    digest = hashlib.sha256()
    for revision in [r for r in REVISIONS if r <= "0016"]:
        for dialect in ("sqlite", "postgresql"):
            digest.update(job_results_view(dialect, revision).encode())
    assert digest.hexdigest()[:16] == "a9a3f1bd5bd30681"


def test_each_view_keeps_the_columns_of_the_one_before():
    for before, after in itertools.pairwise(REVISIONS):
        fields, results = columns_at(before)
        fields_after, results_after = columns_at(after)
        assert fields_after[: len(fields)] == fields and results_after[: len(results)] == results


def test_results_from_before_0017_get_the_fingerprint_a_new_write_gives(db_url, sample_result):
    from alembic import command

    from core.store.fingerprints import fingerprint, parts_of
    from core.store.migrate import alembic_config
    from tests.dbseed import seed

    spec, result = sample_result
    plain = seed(db_url, spec.model_copy(update={"seed": 7}), result)
    strict_spec = spec.model_copy(update={"seed": 8, "deterministic": True})
    strict = seed(db_url, strict_spec, result.model_copy(update={"spec": strict_spec.model_dump()}))
    command.downgrade(alembic_config(db_url), "0016")
    upgrade(db_url)
    with get_engine(db_url).connect() as conn:
        got = dict(conn.execute(text("SELECT job_id, fingerprint FROM results")).all())
    assert got[plain] == fingerprint(parts_of(result.provenance, deterministic=False))
    assert got[strict] == fingerprint(parts_of(result.provenance, deterministic=True))
    assert got[plain] != got[strict]


def test_results_from_before_0018_get_their_jobs_repeat_key(db_url, sample_result):
    from alembic import command

    from core.store.migrate import alembic_config
    from tests.dbseed import seed

    spec, result = sample_result
    ids = {n: seed(db_url, spec.with_overrides(seed=n, dropout_p=n / 10), result) for n in (1, 2)}
    command.downgrade(alembic_config(db_url), "0017")
    upgrade(db_url)
    with get_engine(db_url).connect() as conn:
        got = dict(conn.execute(text("SELECT job_id, repeat_key FROM results")).all())
    for n, job_id in ids.items():
        assert got[job_id] == spec.with_overrides(seed=n, dropout_p=n / 10).repeat_key()
