"""Results database at scale: batched inserts and the dashboard's main queries.

Seeds `--rows` results (default 100,000) into a fresh database migrated with
core.store.migrate.upgrade. Every row is built by the code core.store.write writes with (new_job,
write_results, environment_id), `--batch` jobs with their results per
transaction. The results are copies of one real tiny BenchResult with the spec (family, norm,
dropout_p, lr, width, seed), the provenance (CPU, H100, A100), the sweep group, the label, the
submission time (spread over 180 days) and a few figures varied, so that filters are selective.

Then times the dashboard's main reads, one warm-up and 5 timed calls each, median reported:
  q1  query_records(spec norm=batchnorm and dropout_p=0.5, status=succeeded), limit 200
  q2  query_records(group_id=<one sweep>, gpu="h100"), limit 200
  q3  compare_repeats(group_id=<one sweep>)
  q4  compare_repeats(spec family=mlp): about half of all results

Targets: under 1 ms per result to seed in batches (total seeding wall time / rows), under
200 ms per query. PostgreSQL runs in a throwaway schema, dropped at the end, and its tables
get VACUUM ANALYZE after seeding, as autovacuum gives them after inserts since PostgreSQL 13
(autovacuum_vacuum_insert_threshold; the test server here runs with autovacuum off). The
vacuum sets the visibility map that index-only scans need. SQLite has the statistics
bnbench's writer gathers itself as the results grow (core.store.write.refresh_sqlite_statistics),
nothing more.

    python benchmarks/db_scale.py [--backend sqlite|postgresql|both] [--rows N] [--json F]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, insert

from core.engine.provenance import cpu_model
from core.engine.result import BenchResult, Provenance
from core.engine.run import run
from core.spec.schema import BenchSpec
from core.store.db import dispose_engines, get_engine, session_scope
from core.store.jobs import new_job
from core.store.migrate import upgrade
from core.store.read import ResultFilter, compare_repeats, query_records
from core.store.result_rows import row_values
from core.store.tables import Base, Job
from core.store.write import environment_id, write_results

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
INSERT_TARGET_MS = 1.0  # per result
QUERY_TARGET_MS = 200.0
TIMED_CALLS = 5
GROUPS = [f"sweep-{i:02d}" for i in range(40)]
LABELS = [None, None, "baseline", "bn-vs-dropout", "lr-scan", "nightly"]
QUERY_GROUP = GROUPS[7]

# spec, group_id, label, created_at, result
Item = tuple[BenchSpec, str | None, str | None, datetime, BenchResult]


def tiny_result() -> BenchResult:
    tiny = dict(epochs=2, batch_size=16, synthetic_samples=256, depth=2, width=16)
    timing = dict(warmup_steps=2, timed_steps=5, repeats=2, infer_batch_sizes=(1, 8))
    return run(BenchSpec(**tiny, **timing, device="cpu"))


Entry = tuple[BenchSpec, dict, str]  # spec, its JSON, its hash


def spec_pool(base: BenchSpec) -> list[Entry]:
    """720 specs (144 repeat groups of 5 seeds), each with its JSON and hash computed once."""
    grid = itertools.product(
        ("mlp", "cnn"), ("batchnorm", "none"), (0.0, 0.1, 0.3, 0.5), (0.01, 0.05, 0.1),
        (16, 32, 64), range(5),
    )  # fmt: skip
    pool = []
    for family, norm, p, lr, width, seed in grid:
        s = base.with_overrides(
            family=family, norm=norm, dropout_p=p, lr=lr, width=width, seed=seed, device="auto"
        )
        pool.append((s, s.model_dump(mode="json"), s.spec_hash()))
    return pool


def provenances(cpu: Provenance) -> list[tuple[Provenance, float, float]]:
    """(provenance, share of results, training speed-up over the CPU run)."""
    gpu = {"cuda": "12.4", "cudnn": 90100, "gpu_driver": "550.54.15", "device": "cuda"}
    h100 = {"gpu_name": "NVIDIA H100 80GB HBM3", "gpu_memory_mb": 81559, "hostname": "gpu-h100-1"}
    a100 = {"gpu_name": "NVIDIA A100-SXM4-40GB", "gpu_memory_mb": 40536, "hostname": "gpu-a100-1"}
    return [
        (cpu, 0.4, 1.0),
        (cpu.model_copy(update={**gpu, **h100}), 0.35, 40.0),
        (cpu.model_copy(update={**gpu, **a100}), 0.25, 25.0),
    ]


def variant(
    base: BenchResult, entry: Entry, prov: Provenance, speed: float, rng: random.Random
) -> BenchResult:
    """The base result as if measured for the spec on `prov`, with some noise on the figures."""
    spec, spec_json, spec_hash = entry
    m = base.model
    acc = (m.final_val_accuracy or 0.5) + 0.4 - 0.2 * spec.dropout_p + rng.gauss(0, 0.03)
    acc = min(1.0, max(0.0, acc))
    update = {
        "final_val_accuracy": acc,
        "generalization_gap": (m.final_train_accuracy or acc) - acc,
        "bn_stats": m.bn_stats if spec.norm == "batchnorm" else [],
    }
    if m.throughput is not None:
        sps = m.throughput.samples_per_s * speed * rng.uniform(0.85, 1.15)
        update["throughput"] = m.throughput.model_copy(update={"samples_per_s": sps})
    model = m.model_copy(update=update)
    return base.model_copy(
        update={"spec": spec_json, "spec_hash": spec_hash, "provenance": prov, "model": model}
    )


def insert_batch(url: str, items: list[Item]) -> None:
    """One transaction: the jobs (Core executemany), then their results and detail rows
    through core.store.write.write_results, the batched write path."""
    with session_scope(url) as s:
        provs = {r.provenance.hostname: r.provenance for *_, r in items}
        env_ids = {host: environment_id(s, p) for host, p in provs.items()}
        jobs = []
        for spec, group, label, created, r in items:
            gpu, host = r.provenance.gpu_name, r.provenance.hostname
            job = new_job(spec, queue="gpu" if gpu else "local", group_id=group, label=label,
                          status="succeeded", worker=host)  # fmt: skip
            job.created_at = job.started_at = created
            job.finished_at = created + timedelta(seconds=r.total_time_s)
            job.attempt, job.progress = 1, 1.0
            jobs.append(job)
        s.execute(insert(Job.__table__), [row_values(j) | {"id": j.id} for j in jobs])
        write_results(
            s,
            [
                (job.id, env_ids[r.provenance.hostname], r)
                for job, (*_, r) in zip(jobs, items, strict=True)
            ],
        )


def seed(url: str, base: BenchResult, rows: int, batch: int, label: str) -> dict:
    rng = random.Random(0)
    pool = spec_pool(BenchSpec.model_validate(base.spec))
    provs = provenances(base.provenance)
    weights = [w for _, w, _ in provs]
    start = datetime.now(UTC) - timedelta(days=180)
    step = timedelta(days=180) / rows
    batch_ms: list[float] = []
    t0 = time.perf_counter()
    for b, first in enumerate(range(0, rows, batch), 1):
        items = []
        for i in range(first, min(first + batch, rows)):
            entry = rng.choice(pool)
            prov, _, speed = rng.choices(provs, weights)[0]
            group = rng.choice(GROUPS) if rng.random() < 0.9 else None
            r = variant(base, entry, prov, speed, rng)
            items.append((entry[0], group, rng.choice(LABELS), start + i * step, r))
        tb = time.perf_counter()
        insert_batch(url, items)
        batch_ms.append((time.perf_counter() - tb) * 1e3 / len(items))
        done = min(first + batch, rows)
        if b % 10 == 0 or done == rows:
            rate = (time.perf_counter() - t0) * 1e3 / done
            print(f"  {label}: seeded {done:>7,}/{rows:,}  {rate:.3f} ms/result", flush=True)
    total_s = time.perf_counter() - t0
    median = statistics.median(batch_ms)
    return {"seed_s": total_s, "insert_ms_per_result": total_s * 1e3 / rows,
            "batch_median_ms_per_result": median}  # fmt: skip


BN_DROPOUT = ResultFilter(spec={"norm": "batchnorm", "dropout_p": 0.5}, status=("succeeded",))
GROUP_H100 = ResultFilter(group_id=QUERY_GROUP, gpu="h100")
QUERIES: dict[str, Callable[[str], object]] = {
    "q1 list spec+status": lambda url: query_records(BN_DROPOUT, limit=200, url=url),
    "q2 list group+gpu": lambda url: query_records(GROUP_H100, limit=200, url=url),
    "q3 compare group": lambda url: compare_repeats(ResultFilter(group_id=QUERY_GROUP), url=url),
    "q4 compare family": lambda url: compare_repeats(ResultFilter(spec={"family": "mlp"}), url=url),
}


def time_queries(url: str) -> dict[str, dict]:
    out = {}
    for name, fn in QUERIES.items():
        n = len(fn(url))  # warm-up
        times = []
        for _ in range(TIMED_CALLS):
            t = time.perf_counter()
            fn(url)
            times.append((time.perf_counter() - t) * 1e3)
        out[name] = {"median_ms": statistics.median(times), "min_ms": min(times), "rows_out": n}
        print(f"  {name:<20} {out[name]['median_ms']:>9.1f} ms  ({n} rows out)", flush=True)
    return out


@contextmanager
def fresh_database(backend: str, pg_url: str) -> Iterator[str]:
    """A URL to an empty database: a temporary SQLite file, or a new PostgreSQL schema."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as d:
            try:
                yield f"sqlite:///{d}/db_scale.db"
            finally:
                dispose_engines()
        return
    schema = f"bnbench_db_scale_{os.getpid()}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        sep = "&" if "?" in pg_url else "?"
        yield f"{pg_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        dispose_engines()
        with admin.connect() as c:
            c.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def bench_backend(backend: str, base: BenchResult, args: argparse.Namespace) -> dict:
    print(f"{backend}: seeding {args.rows:,} results, {args.batch} per transaction", flush=True)
    with fresh_database(backend, args.pg_url) as url:
        upgrade(url)
        row = {"backend": backend, "rows": args.rows, "batch": args.batch}
        row.update(seed(url, base, args.rows, args.batch, backend))
        autocommit = get_engine(url).execution_options(isolation_level="AUTOCOMMIT")
        with autocommit.connect() as c:  # VACUUM runs outside a transaction
            if backend == "postgresql":
                for t in Base.metadata.sorted_tables:  # only this schema's tables
                    c.exec_driver_sql(f"VACUUM ANALYZE {t.name}")
                row["server"] = c.exec_driver_sql("SHOW server_version").scalar()
            else:
                row["server"] = sqlite3.sqlite_version
        row["queries"] = time_queries(url)
    return row


def print_table(rows: list[dict]) -> None:
    def cell(value: float, target: float, fmt: str) -> str:
        return f"{value:>10{fmt}} {'ok' if value < target else 'MISS':<4}"

    heads = ["ms/result", "batch med", *(n.split()[0] + " ms" for n in QUERIES)]
    print("\n" + f"{'backend':<11}{'rows':>8}" + "".join(f"{h:>10}{'':5}" for h in heads))
    for r in rows:
        line = f"{r['backend']:<11}{r['rows']:>8,}"
        line += cell(r["insert_ms_per_result"], INSERT_TARGET_MS, ".3f")
        line += cell(r["batch_median_ms_per_result"], INSERT_TARGET_MS, ".3f")
        for n in QUERIES:
            line += cell(r["queries"][n]["median_ms"], QUERY_TARGET_MS, ".1f")
        print(line)
    print(f"targets: insert < {INSERT_TARGET_MS} ms/result, each query < {QUERY_TARGET_MS} ms")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--pg-url", default=os.environ.get("BNBENCH_SCALE_PG_URL", PG_URL))
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args()

    print("running one tiny CPU benchmark for a real result...", flush=True)
    base = tiny_result()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    rows = [bench_backend(b, base, args) for b in backends]
    print_table(rows)
    machine = {"cpu": cpu_model(), "nproc": len(os.sched_getaffinity(0))}
    servers = ", ".join(f"{r['backend']} {r['server']}" for r in rows)
    print(f"machine: {machine['cpu']}, nproc {machine['nproc']}; {servers}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "results": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
