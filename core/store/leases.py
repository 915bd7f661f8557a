"""Leases: a periodic duty done by one process of the fleet at a time.

Every worker runs the same upkeep timer. A duty that computes for the whole fleet (the
regression check reads every series) would otherwise be done once per worker per period.
The holder renews its lease each time it does the duty; another process takes it only once
it has expired, so a dead holder's duty moves on after one period.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError

from core.store.db import rows_changed, session_scope
from core.store.tables import Lease, utcnow


def take_turn(name: str, holder: str, period_s: float, url: str | None = None) -> bool:
    """True if `holder` holds the lease `name` for the next `period_s` seconds: it was free,
    expired, or already its own. Atomic: of processes that ask at once, one gets True."""
    now = utcnow()
    until = now + timedelta(seconds=period_s)
    with session_scope(url) as s:
        taken = rows_changed(
            s,
            update(Lease)
            .where(Lease.name == name, or_(Lease.expires_at <= now, Lease.holder == holder))
            .values(holder=holder, expires_at=until),
        )
    if taken:
        return True
    try:
        with session_scope(url) as s:
            s.add(Lease(name=name, holder=holder, expires_at=until))
        return True
    except IntegrityError:  # held by another, or taken between our update and insert
        return False


def holder_of(name: str, url: str | None = None) -> str | None:
    with session_scope(url, readonly=True) as s:
        lease = s.get(Lease, name)
        return None if lease is None else lease.holder
