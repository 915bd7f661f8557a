"""A probe task for benchmarks/queue.py: sleeps, then counts itself done on the broker.

Loaded into workers with BNBENCH_WORKER_INCLUDE=benchmarks.sleep_task. It measures the
queue machinery (delivery, acks, prefetch) without the engine's compute.
"""

import time

import redis

from worker.app import app

DONE_KEY = "bnbench:bench:sleep-done"


@app.task(name="bnbench.bench_sleep")
def bench_sleep(seconds: float) -> None:
    time.sleep(seconds)
    client = redis.Redis.from_url(app.conf.broker_url)
    client.incr(DONE_KEY)
    client.close()
