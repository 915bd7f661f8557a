"""Queue benchmarks with real worker processes, on Redis and on the embedded broker.

1. Dispatch latency, submit -> running (claim), on an idle worker: p50 and p95 over jobs
   sent one at a time. Target: p50 < 100 ms with Redis.
2. Throughput with 1 and 2 workers: sleep-bound probe tasks (0.2 s each; measures the
   queue, not the CPU) and tiny real benchmark jobs. Target: >= 1.8x with 2 workers on
   sleep-bound jobs.
3. Drain: N tiny real jobs over 2 workers; every one must succeed exactly once.

    python benchmarks/queue_bench.py [--broker redis|embedded|both] [--drain 1000] [--json F]

(Not named queue.py: in this folder that would shadow the standard library's queue module
for every script here.)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import redis

from core.spec.presets import preset

TINY = preset("tiny")
REDIS_URL = "redis://127.0.0.1:6379/15"


def set_env(broker: str, db: str) -> None:
    os.environ.update(
        BNBENCH_BROKER_URL=broker,
        BNBENCH_DATABASE_URL=db,
        BNBENCH_WORKER_INCLUDE="benchmarks.sleep_task",
        BNBENCH_HEARTBEAT_S="1",
    )


def start_workers(n: int, log_dir: str):
    from core.store.workers import list_workers
    from worker.launcher import plan_workers

    plan = plan_workers("none", n, None)
    for w in plan:
        w.start("warning", log_dir)
    deadline = time.monotonic() + 90
    while len(list_workers()) < n and time.monotonic() < deadline:
        time.sleep(0.2)
    return plan


def stop_workers(plan) -> None:
    import signal

    for w in plan:
        os.killpg(w.proc.pid, signal.SIGTERM)
    for w in plan:
        w.proc.wait(30)


def wait_final(ids: list[str], timeout_s: float) -> dict[str, str]:
    from core.store.read import ResultFilter, query_records

    deadline = time.monotonic() + timeout_s
    while True:
        recs = query_records(ResultFilter(job_ids=tuple(ids)), spec=False)
        statuses = {r["job_id"]: r["status"] for r in recs}
        if all(s in ("succeeded", "failed", "cancelled") for s in statuses.values()):
            return statuses
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{sum(s == 'succeeded' for s in statuses.values())} of "
                f"{len(ids)} done after {timeout_s} s"
            )
        time.sleep(0.2)


def dispatch_latency(n: int) -> dict:
    from core.spec.schema import BenchSpec
    from core.store.read import ResultFilter, query_records
    from worker.client import submit

    lat = []
    for i in range(n):
        job_id = submit(BenchSpec(**TINY, seed=i))
        wait_final([job_id], 60)
        [rec] = query_records(ResultFilter(job_ids=(job_id,)), spec=False)
        lat.append((rec["started_at"] - rec["created_at"]).total_seconds() * 1e3)
    lat = lat[1:]  # the first includes the pool child's torch import
    q = statistics.quantiles(lat, n=20)
    return {"p50_ms": statistics.median(lat), "p95_ms": q[18], "n": len(lat)}


def sleep_throughput(broker: str, tasks: int, seconds: float) -> float:
    from benchmarks.sleep_task import DONE_KEY
    from worker.client import get_app

    client = redis.Redis.from_url(broker)
    client.delete(DONE_KEY)
    t0 = time.perf_counter()
    for _ in range(tasks):
        get_app().send_task("bnbench.bench_sleep", args=[seconds], queue="cpu")
    while int(client.get(DONE_KEY) or 0) < tasks:
        time.sleep(0.01)
    return tasks / (time.perf_counter() - t0)


def job_throughput(n: int) -> float:
    from core.spec.schema import BenchSpec
    from worker.client import submit

    t0 = time.perf_counter()
    ids = [submit(BenchSpec(**TINY, seed=i)) for i in range(n)]
    wait_final(ids, 600)
    return n / (time.perf_counter() - t0)


def bench_broker(name: str, drain: int, tmp: str) -> dict:
    from core.store.db import dispose_engines
    from core.store.migrate import upgrade

    broker_obj = None
    if name == "redis":
        broker = REDIS_URL
        redis.Redis.from_url(broker).flushdb()
    else:
        import socket

        from worker.embedded import EmbeddedBroker

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        broker_obj = EmbeddedBroker(port).start()
        broker = broker_obj.url
    db = f"sqlite:///{tmp}/{name}.db"
    set_env(broker, db)
    dispose_engines()
    upgrade(db)
    out: dict = {"broker": name}
    try:
        one = start_workers(1, f"{tmp}/logs-{name}")
        out["dispatch"] = dispatch_latency(31)
        out["sleep_1w"] = sleep_throughput(broker, 20, 0.2)
        out["jobs_1w"] = job_throughput(30)
        two = start_workers(2, f"{tmp}/logs-{name}")  # two more, then stop the first
        stop_workers(one)
        time.sleep(1)
        from core.store.workers import list_workers

        while len(list_workers()) > 2:
            time.sleep(0.2)
        job_throughput(8)  # warm up: each new pool child imports torch on its first job
        out["sleep_2w"] = sleep_throughput(broker, 40, 0.2)
        out["jobs_2w"] = job_throughput(60)
        t0 = time.perf_counter()
        from core.spec.schema import BenchSpec
        from worker.client import submit

        ids = [submit(BenchSpec(**TINY, seed=i)) for i in range(drain)]
        statuses = wait_final(ids, 1800)
        from core.store.read import ResultFilter, query_records

        results = [
            r
            for r in query_records(ResultFilter(job_ids=tuple(ids)), spec=False)
            if r["final_val_accuracy"] is not None
        ]
        out["drain"] = {
            "jobs": drain,
            "seconds": time.perf_counter() - t0,
            "succeeded": sum(s == "succeeded" for s in statuses.values()),
            "results": len(results),
        }
        stop_workers(two)
    finally:
        if broker_obj:
            broker_obj.stop()
    out["sleep_speedup"] = out["sleep_2w"] / out["sleep_1w"]
    out["jobs_speedup"] = out["jobs_2w"] / out["jobs_1w"]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--broker", choices=["redis", "embedded", "both"], default="both")
    ap.add_argument("--drain", type=int, default=1000)
    ap.add_argument("--json")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in ["redis", "embedded"] if args.broker == "both" else [args.broker]:
            r = bench_broker(name, args.drain, tmp)
            rows.append(r)
            d = r["dispatch"]
            print(
                f"{name:<9} dispatch p50 {d['p50_ms']:.1f} ms p95 {d['p95_ms']:.1f} ms | "
                f"sleep-bound {r['sleep_1w']:.2f}/s -> {r['sleep_2w']:.2f}/s "
                f"({r['sleep_speedup']:.2f}x) | tiny jobs {r['jobs_1w']:.2f}/s -> "
                f"{r['jobs_2w']:.2f}/s ({r['jobs_speedup']:.2f}x) | drain "
                f"{r['drain']['succeeded']}/{r['drain']['jobs']} succeeded, "
                f"{r['drain']['results']} results in {r['drain']['seconds']:.0f} s",
                flush=True,
            )
    from core.engine.provenance import cpu_model

    cpu = cpu_model()
    print(f"machine: {cpu}, {os.cpu_count()} cores")
    if args.json:
        Path(args.json).write_text(json.dumps({"cpu": cpu, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
