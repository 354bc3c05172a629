"""`crossdock db`: the database schema (Alembic revisions) and the secret key."""

from __future__ import annotations

import click

from cli.errors import run_guarded
from cli.store import announce_store
from shared.settings import Settings


@click.group("db")
def db_group() -> None:
    """The database schema: its revision, and upgrading it in place; the secret key."""


def _existing_url(settings: Settings) -> str:
    """The configured store's URL, once it is known to exist: only the receiver creates
    a new SQLite store. Raises `ConfigurationError`."""
    from shared.store import prepare_location

    location = announce_store(settings)
    prepare_location(location, may_create=False)
    return location.url


@db_group.command("upgrade")
@click.pass_obj
def upgrade_command(settings: Settings, /) -> None:
    """Upgrade the configured database to this crossdock's schema (stores opened by the
    receiver and the consumers do this on start too)."""
    from shared.store import upgrade_database

    before, after = run_guarded(lambda: upgrade_database(_existing_url(settings)))
    if before == after:
        click.echo(f"database schema already at revision {after}")
    else:
        click.echo(f"database schema upgraded from revision {before or 'none'} to {after}")


@db_group.command("current")
@click.pass_obj
def current_command(settings: Settings, /) -> None:
    """Print the database's schema revision ("none": empty, or made before revisions)."""
    from shared.store import database_revision

    click.echo(run_guarded(lambda: database_revision(_existing_url(settings))) or "none")


@db_group.command("rotate-key")
@click.pass_obj
def rotate_key_command(settings: Settings, /) -> None:
    """Encrypt every stored secret again with the first key of CROSSDOCK_SECRET_KEY.

    Rotating: give every process CROSSDOCK_SECRET_KEY=new,old; then run this once; then
    every process may drop the old key.
    """
    from shared.store import open_store

    def reseal() -> int:
        announce_store(settings)
        with open_store(settings, may_create=False) as store:
            return store.reseal_secrets()

    count = run_guarded(reseal)
    click.echo(f"{count} stored secret(s) now encrypted with the first key of "
               "CROSSDOCK_SECRET_KEY; the other keys may be removed from every process")
