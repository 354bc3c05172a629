"""`crossdock receiver`: serve webhooks and the management API."""

from __future__ import annotations

import click

from cli.errors import run_guarded
from cli.store import announce_store
from shared.settings import Settings


@click.command("receiver")
@click.option("--bind", default=None, metavar="HOST:PORT",
              help="Address to listen on (default: setting receiver_bind).")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="gunicorn worker processes (default: setting receiver_workers).")
@click.pass_obj
def receiver_command(settings: Settings, /, bind: str | None, workers: int | None) -> None:
    """Receive registry webhooks and serve the management API, until SIGTERM."""
    from receiver.serve import serve
    from shared.store import open_store

    changes: dict[str, object] = {}
    if bind:
        changes["receiver_bind"] = bind
    if workers:
        changes["receiver_workers"] = workers
    settings = settings.replace(**changes) if changes else settings
    # Create or upgrade the store and check the key once, before the workers start: the
    # receiver is the one process that may create a new store.
    run_guarded(lambda: announce_store(settings))
    run_guarded(lambda: open_store(settings, may_create=True).close())
    serve(settings)
