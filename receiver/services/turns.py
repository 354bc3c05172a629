"""One mover at a time per failed queue: ``/endpoints/<name>/redrive`` and
``/jobs/<id>/retry`` take turns per endpoint, through a lease in the store.

A job's retry holds every parked message of its endpoint while it looks for the
job's own (`shared.broker.retry_parked`): a redrive or another retry running at
the same time would find the queue empty and miss messages, and a retry that
misses its job's message publishes a new one while the old one stays parked.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import structlog

from shared.errors import CrossdockError
from shared.store import ConflictError, EndpointRecord, Store, failed_queue_lease_key

#: How long a turn lasts at most: a receiver that dies mid-move holds it this long.
TURN_SECONDS = 300.0
#: How long a request waits for another's turn to end before answering 409.
WAIT_SECONDS = 3.0
_POLL_SECONDS = 0.05

log = structlog.get_logger("crossdock.receiver")


@contextmanager
def failed_queue_turn(store: Store, endpoint: EndpointRecord) -> Iterator[None]:
    """Hold `endpoint`'s failed-queue turn inside the block.

    Raises `ConflictError` (409) when another redrive or retry keeps it past
    `WAIT_SECONDS`, and the store's errors.
    """
    key = failed_queue_lease_key(endpoint.id)
    holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
    give_up = time.monotonic() + WAIT_SECONDS
    while not store.try_acquire_lease(key, holder, TURN_SECONDS):
        if time.monotonic() >= give_up:
            raise ConflictError(
                f"another redrive or job retry is moving the messages of endpoint "
                f"{endpoint.name!r}'s failed queue; try again once it is done")
        time.sleep(_POLL_SECONDS)
    try:
        yield
    finally:
        try:
            store.release_lease(key, holder)
        except CrossdockError as exc:  # it expires by itself
            log.warning("could not release the failed-queue turn", endpoint=endpoint.name,
                        error=str(exc))
