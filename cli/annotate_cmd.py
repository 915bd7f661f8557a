"""`bnbench tag`, `archive` and `delete`: name, tag, note, hide or remove jobs and groups."""

from __future__ import annotations

import click

from cli.spec_options import fail


def _targets(job_ids: tuple[str, ...], group: str | None) -> list[str]:
    from core.store.annotations import AnnotationError, jobs_of
    from core.store.read import JobNotFound, resolve_job_id

    if not job_ids and not group:
        fail(["give job ids (8-character prefixes do), or --group G"])
    try:
        return jobs_of([resolve_job_id(j) for j in job_ids], group)
    except (JobNotFound, AnnotationError) as e:
        fail([str(e)])
        raise


def _targeting(f):
    f = click.option("--group", help="Every job of this group (a sweep or suite run).")(f)
    return click.argument("job_ids", nargs=-1)(f)


@click.command()
@_targeting
@click.option("--add", "add", multiple=True, metavar="TAG", help="Add a tag; repeatable.")
@click.option("--remove", multiple=True, metavar="TAG", help="Remove a tag; repeatable.")
@click.option("--note", help='A note on the jobs ("" clears it); with --group alone, the group\'s.')
@click.option("--label", help='Rename: the jobs\' label ("" clears it).')
def tag(job_ids, group, add, remove, note, label) -> None:
    """Name, tag and annotate jobs, or every job of a group.

    Filter by tag with `results --tag T` and `jobs --tag T`, or in SQL through job_tags."""
    from core.store.annotations import AnnotationError, edit, set_group_note, tags_of

    ids = _targets(job_ids, group)
    if not (add or remove or note is not None or label is not None):
        for job_id, tags in tags_of(ids).items():
            click.echo(f"{job_id[:8]} {', '.join(tags) or '-'}")
        return
    group_note = note if group and not job_ids else None
    try:
        edit(ids, add, remove, None if group_note is not None else note, label)
        if group_note is not None:
            set_group_note(group, group_note)
    except AnnotationError as e:
        fail([str(e)])
    click.echo(f"{len(ids)} job{'s' if len(ids) != 1 else ''} updated")


@click.command()
@_targeting
@click.option("--undo", is_flag=True, help="Show archived jobs in listings again.")
def archive(job_ids, group, undo) -> None:
    """Hide jobs, or a group, from default listings; nothing is deleted.

    `results --archived only` lists them; `--undo` brings them back."""
    from core.store.annotations import archive as archive_jobs

    ids = _targets(job_ids, group)
    n = archive_jobs(ids, undo=undo)
    click.echo(f"{n} job{'s' if n != 1 else ''} {'unarchived' if undo else 'archived'}")


@click.command()
@_targeting
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete(job_ids, group, yes) -> None:
    """Delete finished jobs, or a group, with their results, curves, logs and tags.

    Queued and running jobs are refused: cancel them first. This cannot be undone;
    `bnbench archive` hides jobs instead."""
    from core.store.annotations import delete_jobs

    ids = _targets(job_ids, group)
    what = f"group {group} ({len(ids)} jobs)" if group else f"{len(ids)} job(s)"
    if not yes:
        click.confirm(f"Delete {what} and every row they own?", abort=True, err=True)
    deleted, refused = delete_jobs(ids)
    click.echo(f"{len(deleted)} job{'s' if len(deleted) != 1 else ''} deleted")
    if refused:
        fail([f"{j[:8]} is still queued or running: `bnbench cancel {j[:8]}` first"
              for j in refused], code=1)  # fmt: skip
