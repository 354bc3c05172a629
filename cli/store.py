"""The store as the commands open it: where it is, said once at start, and who may
create it (the receiver only; see `shared.store.location`)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import structlog

from shared.settings import Settings

if TYPE_CHECKING:  # the store loads on demand: `crossdock copy` starts faster without it
    from shared.store import Store, StoreLocation

CREATION_WAIT_SECONDS = 30.0
"""How long a consumer started with the receiver waits for it to create a new store."""

log = structlog.get_logger("crossdock.cli")


def announce_store(settings: Settings) -> StoreLocation:
    """Where the configured store is, in a start-up log line (its absolute path, or the
    URL without its password), so that processes on different stores are easy to spot.
    Raises `ConfigurationError` for a bad URL."""
    from shared.store import locate_store

    location = locate_store(settings.database_url)
    log.info("using the store", location=location.shown, default=location.default)
    return location


def open_created_store(settings: Settings, *, wait_seconds: float | None = None,
                       poll_seconds: float = 0.5) -> Store:
    """Open the store without creating it: the receiver does. A consumer started with
    it waits up to ``wait_seconds`` (`CREATION_WAIT_SECONDS`) for the receiver to create
    the file, then gives up.

    Raises `StoreNotFoundError` (still missing), and what `open_store` raises.
    """
    from shared.store import StoreNotFoundError, open_store

    location = announce_store(settings)
    wait_seconds = CREATION_WAIT_SECONDS if wait_seconds is None else wait_seconds
    deadline = time.monotonic() + wait_seconds
    waiting = False
    while True:
        try:
            return open_store(settings, may_create=False)
        except StoreNotFoundError:
            if time.monotonic() >= deadline:
                raise
            if not waiting:
                log.warning("waiting for the receiver to create the store",
                            location=location.shown, seconds=wait_seconds)
                waiting = True
            time.sleep(poll_seconds)
