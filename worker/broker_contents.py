"""Which task messages a Redis broker still holds, read without taking them.

kombu's Redis transport keeps a queue's waiting messages in lists (the queue's name, and
`<queue>:<priority>` per priority step) and the messages it has delivered but that are not yet
acknowledged in the `unacked` hash, with the delivery time in the `unacked_index` sorted set.
The reconciler compares these task ids with the queued jobs, one job at a time.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from worker.envelope import parse_eta

PRIORITY_STEPS = range(10)  # as in worker.app's broker_transport_options
SEP = ":"
UNACKED, UNACKED_INDEX = "unacked", "unacked_index"


@dataclass
class BrokerContents:
    waiting: set[str] = field(default_factory=set)
    # delivered, unacknowledged: task id -> (seconds since delivery, eta or None)
    delivered: dict[str, tuple[float, datetime | None]] = field(default_factory=dict)

    def holds(self, task_id: str | None, fresh_s: float) -> bool:
        """True when the message is waiting, or with a consumer that may still claim it: one
        delivered less than fresh_s ago, or one held for an ETA still ahead (a retry)."""
        if task_id is None:
            return False
        if task_id in self.waiting:
            return True
        if task_id not in self.delivered:
            return False
        age, eta = self.delivered[task_id]
        return age < fresh_s or (eta is not None and eta > datetime.now(UTC))


def _headers(raw: bytes | str) -> dict[str, Any]:
    try:
        envelope = json.loads(raw)
        headers = envelope.get("headers") if isinstance(envelope, dict) else None
    except ValueError:
        return {}
    return headers if isinstance(headers, dict) else {}


def read(client, queues: list[str]) -> BrokerContents:
    """Everything the broker holds for `queues`, from a redis-py client."""
    out = BrokerContents()
    keys = [q if pri == 0 else f"{q}{SEP}{pri}" for q in queues for pri in PRIORITY_STEPS]
    for key in keys:
        for raw in client.lrange(key, 0, -1):
            if isinstance(task_id := _headers(raw).get("id"), str):
                out.waiting.add(task_id)
    wanted = set(queues)
    delivered_at = dict(client.zrange(UNACKED_INDEX, 0, -1, withscores=True))
    now = time.time()
    for tag, raw in client.hgetall(UNACKED).items():
        try:
            payload, _exchange, routing_key = json.loads(raw)
        except (ValueError, TypeError):
            continue
        if routing_key not in wanted or not isinstance(payload, dict):
            continue
        headers = payload.get("headers") if isinstance(payload.get("headers"), dict) else {}
        if isinstance(task_id := headers.get("id"), str):
            age = now - delivered_at.get(tag, now)
            out.delivered[task_id] = (age, parse_eta(headers.get("eta")))
    return out
