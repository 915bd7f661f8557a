"""Reading which task messages a Redis broker holds, as kombu's Redis transport stores them,
with real messages published by Celery and taken by a real kombu consumer."""

import time
import uuid
from datetime import UTC, datetime, timedelta

import redis
from celery import Celery
from kombu import Connection, Queue

from worker.broker_contents import read


def test_waiting_messages_are_held_at_every_priority(redis_url):
    app = Celery(broker=redis_url)
    app.conf.broker_transport_options = {"priority_steps": list(range(10)), "sep": ":",
                                         "queue_order_strategy": "priority"}  # fmt: skip
    ids = [app.send_task("bnbench.run", kwargs={}, queue="q", priority=p).id for p in (0, 3, 9)]
    held = read(redis.Redis.from_url(redis_url), ["q"])
    assert held.waiting == set(ids)
    assert all(held.holds(i, fresh_s=60) for i in ids)
    assert not held.holds(str(uuid.uuid4()), fresh_s=60) and not held.holds(None, fresh_s=60)


def test_a_delivered_message_is_held_while_fresh_or_waiting_for_its_eta(redis_url):
    app = Celery(broker=redis_url)
    now_id = app.send_task("bnbench.run", kwargs={}, queue="q").id
    later = datetime.now(UTC) + timedelta(minutes=5)
    eta_id = app.send_task("bnbench.run", kwargs={}, queue="q", eta=later).id
    with Connection(redis_url) as conn:  # a consumer takes both and acknowledges neither
        got = []
        with conn.Consumer(Queue("q"), callbacks=[lambda body, msg: got.append(msg)]):
            while len(got) < 2:
                conn.drain_events(timeout=5)
        held = read(redis.Redis.from_url(redis_url), ["q"])
        assert held.waiting == set()
        assert set(held.delivered) == {now_id, eta_id}
        assert held.holds(now_id, fresh_s=60) and held.holds(eta_id, fresh_s=60)
        time.sleep(1.1)
        # delivered over fresh_s ago and never claimed: its consumer is gone; the ETA one waits
        stale = read(redis.Redis.from_url(redis_url), ["q"])
        assert not stale.holds(now_id, fresh_s=1.0)
        assert stale.holds(eta_id, fresh_s=1.0)
        assert read(redis.Redis.from_url(redis_url), ["other"]).delivered == {}
