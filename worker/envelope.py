"""What a task message must look like before a worker hands it to the pool.

Celery's main process unpacks the body as (args, kwargs, embed) and reads a few headers
itself; a body or header of any other shape raised there and took the whole worker down,
and the message came back to crash the next one. Each check here names what is wrong and
the fix, and the consumer refuses the message (not requeued) and records it.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime
from typing import Any

from core.storable import unstorable

# uuid5(TASK_ID_NAMESPACE, task id) is the job id of a message that names none, so that a
# redelivery of the same message finds the job row the first delivery created.
TASK_NAME = "bnbench.run"  # the one task a client sends, by name
TASK_ID_NAMESPACE = uuid.UUID("6b6e6265-6e63-4800-8000-7461736b6964")
MAX_TASK_ID = 200


class EnvelopeError(ValueError):
    """A message that cannot be read as a task call; the text says what and how to fix it."""


def job_id_for(kwargs: Any, task_id: str) -> str:
    """The job a message runs under: its kwargs' job_id when that is a UUID, else one derived
    from its task id."""
    named = named_job_id(kwargs)
    return named or str(uuid.uuid5(TASK_ID_NAMESPACE, task_id))


def named_job_id(kwargs: Any) -> str | None:
    """The kwargs' job_id when it is a well-formed UUID string."""
    job_id = kwargs.get("job_id") if isinstance(kwargs, dict) else None
    if isinstance(job_id, str):
        try:
            return str(uuid.UUID(job_id))
        except ValueError:
            return None
    return None


def recover_job_id(body: Any) -> str | None:
    """A job_id named anywhere a confused client might have put its kwargs."""
    if isinstance(body, dict):
        return named_job_id(body) or named_job_id(body.get("kwargs"))
    if isinstance(body, list | tuple):
        for part in body:
            if found := named_job_id(part):
                return found
    return None


# The headers Celery's main process reads, with the types it assumes; a wrong type raised
# after the worker had taken its only pool slot, and no later message ran.
HEADER_TYPES: dict[str, tuple[type, ...]] = {
    "lang": (str,),
    "shadow": (str,),
    "group": (str,),
    "group_index": (int,),
    "root_id": (str,),
    "parent_id": (str,),
    "argsrepr": (str,),
    "kwargsrepr": (str,),
    "origin": (str,),
    "ignore_result": (bool,),
    "replaced_task_nesting": (int,),
    "stamped_headers": (list,),
    "stamps": (dict,),
    "eta": (str,),
    "expires": (str,),
}
MAX_ETA_AHEAD_S = 3600  # a retry waits at most a minute; a far ETA would sit in a worker


def check_headers(headers: Any) -> None:
    if not isinstance(headers, dict):
        raise EnvelopeError(f"headers must be a mapping, got {type(headers).__name__}")
    for name, types in HEADER_TYPES.items():
        value = headers.get(name)
        if value is not None and (type(value) not in types):
            want = " or ".join(t.__name__ for t in types)
            raise EnvelopeError(
                f"header {name} must be {want} or null, got {type(value).__name__}; send with "
                "Celery's send_task, which sets it"
            )
    stamped = headers.get("stamped_headers") or []
    if any(not isinstance(h, str) for h in stamped):
        raise EnvelopeError("header stamped_headers must be a list of header names")
    eta = parse_eta(headers.get("eta"))
    if eta is not None and (eta - datetime.now(UTC)).total_seconds() > MAX_ETA_AHEAD_S:
        raise EnvelopeError(
            f"header eta {headers['eta']!r:.40} is over {MAX_ETA_AHEAD_S // 60} minutes ahead; "
            "bnbench runs a job when a worker is free, so send it then"
        )
    task_id = headers.get("id")
    if not isinstance(task_id, str) or not 0 < len(task_id) <= MAX_TASK_ID:
        raise EnvelopeError(
            f"header id must be a task id string of 1 to {MAX_TASK_ID} characters, got "
            f"{task_id!r:.80}; send with Celery's send_task, which sets it"
        )
    if why := unstorable(task_id):
        raise EnvelopeError(f"header id {why}")
    retries = headers.get("retries", 0)
    if retries is not None and (type(retries) is not int or retries < 0):
        raise EnvelopeError(f"header retries must be a whole number >= 0, got {retries!r:.80}")
    limits = headers.get("timelimit")
    if limits is not None:
        ok = isinstance(limits, list | tuple) and len(limits) == 2
        if not ok or any(not _number_or_none(v) for v in limits):
            raise EnvelopeError(
                "header timelimit must be [hard, soft] seconds (numbers or null), got "
                f"{limits!r:.80}"
            )


def parse_eta(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        eta = datetime.fromisoformat(value)
    except ValueError:
        return None  # Celery itself refuses a malformed one, naming the value
    return eta if eta.tzinfo else eta.replace(tzinfo=UTC)


def _number_or_none(v: Any) -> bool:
    if v is None:
        return True
    return type(v) in (int, float) and math.isfinite(v)


def check_body(body: Any) -> None:
    """The body must be Celery's protocol 2 triple: [args list, kwargs object, embed]."""
    if not isinstance(body, list | tuple) or len(body) != 3:
        shape = f"a list of {len(body)}" if isinstance(body, list | tuple) else type(body).__name__
        raise EnvelopeError(
            f"body must be Celery's protocol 2 triple [args, kwargs, embed], got {shape}; send "
            'with send_task("bnbench.run", kwargs={"spec": {...}, "job_id": optional})'
        )
    args, kwargs, embed = body
    if not isinstance(args, list | tuple):
        raise EnvelopeError(f"body args must be a list, got {type(args).__name__}")
    if not isinstance(kwargs, dict):
        raise EnvelopeError(
            f"body kwargs must be an object, got {type(kwargs).__name__}; send "
            'kwargs={"spec": {...}, "job_id": optional}'
        )
    if embed is not None and not isinstance(embed, dict):
        raise EnvelopeError(f"body embed must be an object or null, got {type(embed).__name__}")
    if embed and (used := sorted(k for k in ("callbacks", "errbacks", "chain", "chord")
                                 if embed.get(k))):  # fmt: skip
        raise EnvelopeError(
            f"{', '.join(used)} are not accepted: bnbench tasks take no callbacks, chains or "
            "chords; read the outcome from the jobs table"
        )


def clamped_time_limits(requested: Any, soft_max: float, hard_max: float) -> list[float]:
    """[hard, soft] no looser than the deployment's: a message may ask for less, never more."""
    hard, soft = requested if isinstance(requested, list | tuple) else (None, None)

    def one(value: Any, cap: float) -> float:
        if value is None or not _number_or_none(value) or value <= 0:
            return cap
        return min(float(value), cap)

    return [one(hard, hard_max), one(soft, soft_max)]
