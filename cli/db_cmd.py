"""`bnbench db`: where the database is, and bringing its schema to head."""

from __future__ import annotations

import click


@click.group()
def db() -> None:
    """Manage the results database (BNBENCH_DATABASE_URL; default a SQLite file)."""


@db.command()
def upgrade() -> None:
    """Apply migrations up to head. Safe to run from several processes at once."""
    from core.store.db import redacted
    from core.store.migrate import current_revision, upgrade

    upgrade()
    click.echo(f"{redacted()} is at revision {current_revision()}")


@db.command()
def current() -> None:
    """Print the database's revision and the code's head revision."""
    from core.store.migrate import current_revision, head_revision

    click.echo(f"database: {current_revision() or 'empty'}\nhead:     {head_revision()}")


@db.command()
def url() -> None:
    """Print the database URL in use, password hidden."""
    from core.store.db import redacted

    click.echo(redacted())


@db.command()
def docs() -> None:
    """Print the table reference of docs/schema.md, generated from the models."""
    from core.store.schema_docs import schema_markdown

    click.echo(schema_markdown())
