"""What people add to jobs after submitting them: labels, tags and notes, on a job or a whole
group; archiving (hidden from default listings, kept); and deleting, with every row the job
owns. Only finished jobs are deleted, and their ids are kept so a late message cannot bring
one back."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select, update

from core.store.db import rows_changed, session_scope
from core.store.tables import (
    FINAL_STATUSES,
    DeletedJob,
    GroupNote,
    Job,
    JobTag,
    SuiteRun,
    utcnow,
)

MAX_TAG = 64


class AnnotationError(ValueError):
    pass


def jobs_of(
    job_ids: Iterable[str] = (), group: str | None = None, url: str | None = None
) -> list[str]:
    """The given job ids, plus every job of `group`."""
    ids = list(dict.fromkeys(job_ids))
    if group:
        with session_scope(url, readonly=True) as s:
            members = s.scalars(
                select(Job.id).where(Job.group_id == group).order_by(Job.created_at)
            )
            ids += [j for j in members if j not in ids]
        if not ids:
            raise AnnotationError(f"group {group!r} has no jobs")
    return ids


def clean_tag(tag: str) -> str:
    tag = " ".join(tag.split())
    if not tag or len(tag) > MAX_TAG:
        raise AnnotationError(f"tag {tag!r}: give 1 to {MAX_TAG} characters")
    return tag


def edit(
    job_ids: list[str],
    add_tags: Iterable[str] = (),
    remove_tags: Iterable[str] = (),
    note: str | None = None,
    label: str | None = None,
    url: str | None = None,
) -> None:
    """Tag, untag, note or rename jobs; a note or label of "" clears it."""
    add = [clean_tag(t) for t in add_tags]
    remove = [clean_tag(t) for t in remove_tags]
    with session_scope(url) as s:
        if remove:
            s.execute(delete(JobTag).where(JobTag.job_id.in_(job_ids), JobTag.tag.in_(remove)))
        if add:
            have = set(s.execute(select(JobTag.job_id, JobTag.tag).where(
                JobTag.job_id.in_(job_ids), JobTag.tag.in_(add))).all())  # fmt: skip
            s.add_all([JobTag(job_id=j, tag=t) for j in job_ids for t in dict.fromkeys(add)
                       if (j, t) not in have])  # fmt: skip
        values = {}
        if note is not None:
            values["note"] = note.strip() or None
        if label is not None:
            values["label"] = label.strip()[:200] or None
        if values:
            s.execute(update(Job).where(Job.id.in_(job_ids)).values(**values))


def tags_of(job_ids: Iterable[str], url: str | None = None) -> dict[str, list[str]]:
    ids = list(job_ids)
    out: dict[str, list[str]] = {j: [] for j in ids}
    with session_scope(url, readonly=True) as s:
        for job_id, tag in s.execute(
            select(JobTag.job_id, JobTag.tag).where(JobTag.job_id.in_(ids)).order_by(JobTag.tag)
        ):
            out[job_id].append(tag)
    return out


def all_tags(url: str | None = None) -> list[str]:
    with session_scope(url, readonly=True) as s:
        return list(s.scalars(select(JobTag.tag).distinct().order_by(JobTag.tag)))


def set_group_note(group: str, note: str, url: str | None = None) -> None:
    with session_scope(url) as s:
        row = s.get(GroupNote, group)
        if not note.strip():
            if row is not None:
                s.delete(row)
        elif row is None:
            s.add(GroupNote(group_id=group, note=note.strip(), updated_at=utcnow()))
        else:
            row.note, row.updated_at = note.strip(), utcnow()


def group_note(group: str, url: str | None = None) -> str:
    with session_scope(url, readonly=True) as s:
        return s.scalar(select(GroupNote.note).where(GroupNote.group_id == group)) or ""


def archive(job_ids: list[str], undo: bool = False, url: str | None = None) -> int:
    """Hide jobs from default listings (or show them again); returns how many changed."""
    with session_scope(url) as s:
        cond = Job.archived_at.is_not(None) if undo else Job.archived_at.is_(None)
        res = rows_changed(
            s,
            update(Job).where(Job.id.in_(job_ids), cond)
            .values(archived_at=None if undo else utcnow())
        )  # fmt: skip
        return res


def delete_jobs(job_ids: list[str], url: str | None = None) -> tuple[list[str], list[str]]:
    """Delete finished jobs with their results, curves, logs and tags. Returns (deleted,
    refused): a queued or running job is refused, to be cancelled first."""
    with session_scope(url) as s:
        rows = s.execute(select(Job.id, Job.status, Job.group_id).where(Job.id.in_(job_ids))).all()
        done = [j for j, st, _ in rows if st in FINAL_STATUSES]
        refused = [j for j, st, _ in rows if st not in FINAL_STATUSES]
        if done:
            s.add_all([DeletedJob(job_id=j, deleted_at=utcnow()) for j in done])
            s.execute(delete(Job).where(Job.id.in_(done)))
            for group in {g for _, _, g in rows if g}:
                if s.scalar(select(Job.id).where(Job.group_id == group).limit(1)) is None:
                    s.execute(delete(SuiteRun).where(SuiteRun.id == group))
                    s.execute(delete(GroupNote).where(GroupNote.group_id == group))
    return done, refused


def was_deleted(job_id: str, url: str | None = None) -> bool:
    with session_scope(url, readonly=True) as s:
        return s.get(DeletedJob, job_id) is not None
