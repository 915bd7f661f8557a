"""Filter options shared by `bnbench results` and `bnbench compare`."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import click

from core.spec.parse import parse_override
from core.store.read import ResultFilter
from core.store.tables import JOB_STATUSES

_RELATIVE = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(text: str | None) -> datetime | None:
    """ISO date or datetime (UTC when no zone), or a relative age such as 30m, 12h, 7d, 2w."""
    if not text:
        return None
    if m := _RELATIVE.match(text.strip()):
        return datetime.now(UTC) - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is neither an ISO date (2026-11-26) nor an age (30m, 12h, 7d)"
        ) from None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def filter_options(f: Callable) -> Callable:
    opts = [
        click.option(
            "--where",
            "where",
            multiple=True,
            metavar="FIELD=VALUE",
            help="Spec field filter, repeatable; a list value matches any: "
            "--where norm=batchnorm --where 'dropout_p=[0.1, 0.5]'.",
        ),
        click.option(
            "--status",
            multiple=True,
            type=click.Choice(JOB_STATUSES),
            help="Job status, repeatable.",
        ),
        click.option("--group", "group_id", help="Group id (sweep or suite)."),
        click.option("--label", help="Exact label."),
        click.option("--gpu", help="Substring of the GPU name, or 'cpu'."),
        click.option("--since", help="Created at or after: ISO date or an age like 7d."),
        click.option("--until", help="Created before: ISO date or an age like 1d."),
        click.option("--tag", "tags", multiple=True, help="Carrying this tag; repeatable: all."),
        click.option(
            "--archived",
            type=click.Choice(["hide", "only", "include"]),
            default="hide",
            show_default=True,
            help="Archived jobs (`bnbench archive`).",
        ),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


ARCHIVED = {"hide": False, "only": True, "include": None}


def build_filter(
    where, status, group_id, label, gpu, since, until, tags=(), archived="hide", **extra
) -> ResultFilter:
    spec = {}
    for item in where:
        key, value = parse_override(item, "--where")
        spec[key] = value
    return ResultFilter(
        spec=spec,
        status=tuple(status),
        group_id=group_id,
        label=label,
        gpu=gpu,
        since=parse_time(since),
        until=parse_time(until),
        tags=tuple(tags),
        archived=ARCHIVED[archived],
        **extra,
    )
