"""A raw client of the task API: kombu messages with Celery's v2 headers, no bnbench import.

This is what any program can put on a queue, malformed or not. Celery's own send_task is
used where a well-formed message is wanted.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from kombu import Connection

TASK = "bnbench.run"


def v2_headers(task_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    """The headers Celery 5 puts on a task message (protocol 2)."""
    task_id = task_id or str(uuid.uuid4())
    headers = {
        "lang": "py",
        "task": TASK,
        "id": task_id,
        "shadow": None,
        "eta": None,
        "expires": None,
        "group": None,
        "group_index": None,
        "retries": 0,
        "timelimit": [None, None],
        "root_id": task_id,
        "parent_id": None,
        "argsrepr": "()",
        "kwargsrepr": "{}",
        "origin": "raw-client@test",
        "ignore_result": False,
    }
    headers.update(overrides)
    return headers


def publish(
    broker_url: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    headers: dict[str, Any] | None = None,
    queue: str = "cpu",
    content_type: str = "application/json",
) -> str:
    """Put one message on `queue`: `body` as JSON, or `raw` bytes as they are.

    Returns the message's task id (its `id` header), or "" when the headers carry none."""
    headers = v2_headers() if headers is None else headers
    data = raw if raw is not None else json.dumps(body).encode()
    with Connection(broker_url) as conn:
        conn.Producer().publish(
            data,
            routing_key=queue,
            exchange="",
            headers=headers,
            content_type=content_type,
            content_encoding="utf-8",
        )
    task_id = headers.get("id") if isinstance(headers, dict) else None
    return task_id if isinstance(task_id, str) else ""
