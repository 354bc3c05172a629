"""`crossdock db`: the database schema (Alembic revisions)."""

from __future__ import annotations

import click

from cli.errors import run_guarded
from shared.settings import Settings


@click.group("db")
def db_group() -> None:
    """The database schema: its revision, and upgrading it in place."""


@db_group.command("upgrade")
@click.pass_obj
def upgrade_command(settings: Settings, /) -> None:
    """Upgrade the configured database to this crossdock's schema (stores opened by the
    receiver and the consumers do this on start too)."""
    from shared.store import upgrade_database

    before, after = run_guarded(lambda: upgrade_database(settings.database_url))
    if before == after:
        click.echo(f"database schema already at revision {after}")
    else:
        click.echo(f"database schema upgraded from revision {before or 'none'} to {after}")


@db_group.command("current")
@click.pass_obj
def current_command(settings: Settings, /) -> None:
    """Print the database's schema revision ("none": empty, or made before revisions)."""
    from shared.store import database_revision

    click.echo(run_guarded(lambda: database_revision(settings.database_url)) or "none")
