"""`crossdock consumer`: run a queue consumer."""

from __future__ import annotations

import click

from cli.errors import run_guarded
from cli.store import open_created_store
from shared.settings import Settings


@click.command("consumer")
@click.option("--endpoint", "endpoints", multiple=True, metavar="NAME",
              help="Consume only this endpoint's queue (repeatable; the endpoint must exist). "
                   "Default: every endpoint, including those added later.")
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=None,
              help="Port for /metrics on 127.0.0.1, one per consumer on a machine (default: "
                   "CROSSDOCK_CONSUMER_METRICS_PORT, 9102; 0: off).")
@click.pass_obj
def consumer_command(settings: Settings, /, endpoints: tuple[str, ...],
                     metrics_port: int | None) -> None:
    """Copy and delete images as the queues say, until SIGTERM."""
    from consumers.service import ConsumerService  # loaded on demand: `crossdock copy`

    # The receiver creates the store: a consumer started with it waits a little for it.
    store = run_guarded(lambda: open_created_store(settings))
    try:
        service = run_guarded(lambda: ConsumerService(settings, store, endpoints))
        run_guarded(lambda: service.run(metrics_port=metrics_port))
    finally:
        store.close()
