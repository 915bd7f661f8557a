"""Reading the jobs a test's workers wrote: rows, statuses, result counts."""

from sqlalchemy import func, select

from core.store.db import session_scope
from core.store.tables import Job, RejectedMessage, Result

FINAL = ("succeeded", "failed", "cancelled")


def jobs(url=None) -> dict:
    with session_scope(url) as s:
        return {j.id: j for j in s.scalars(select(Job)).all()}


def result_count(job_id=None, url=None) -> int:
    with session_scope(url) as s:
        q = select(func.count()).select_from(Result)
        if job_id:
            q = q.where(Result.job_id == job_id)
        return s.scalar(q)


def status_of(job_id, url=None):
    job = jobs(url).get(job_id)
    return job.status if job else None


def all_final(ids, url=None) -> bool:
    js = jobs(url)
    return all(i in js and js[i].status in FINAL for i in ids)


def rejected(url=None) -> list:
    with session_scope(url) as s:
        return list(s.scalars(select(RejectedMessage).order_by(RejectedMessage.received_at)))
