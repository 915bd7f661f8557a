"""The worker registry: a worker is live while its heartbeat is younger than the limit."""

from dataclasses import FrozenInstanceError
from datetime import timedelta

import pytest

from core.store.tables import utcnow
from core.store.workers import list_workers, register_worker, unregister_worker


def test_a_worker_is_live_until_its_heartbeat_is_older_than_the_limit(db_url):
    register_worker("cpu0@h", ["cpu"], None, db_url)
    [w] = list_workers(db_url)
    assert w.is_live(60, now=w.heartbeat_at + timedelta(seconds=60))
    assert not w.is_live(60, now=w.heartbeat_at + timedelta(seconds=61))
    assert w.heartbeat_age_s(now=w.heartbeat_at + timedelta(seconds=5)) == 5.0


def test_records_are_frozen_and_read_at_one_moment(db_url):
    register_worker("gpu0@h", ["gpu", "gpu.h100"], "H100", db_url, memory_mb=80_000)
    [w] = list_workers(db_url)
    assert (w.name, w.gpu_model, w.queues, w.memory_mb) == (
        "gpu0@h",
        "H100",
        ("gpu", "gpu.h100"),
        80_000,
    )
    assert w.is_live(60, now=utcnow())
    with pytest.raises(FrozenInstanceError):
        w.name = "other"  # type: ignore[misc]
    unregister_worker("gpu0@h", db_url)
    assert list_workers(db_url) == []
