"""One job at a time per (endpoint, repository), however many consumers run
(DESIGN invariant 4), through short leases in the store kept alive while a job runs.

The holder is the job itself (``job-<id>``), so a job redelivered after its
consumer died takes its own lease back at once; other jobs on the repository
wait until it is released or expires.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

from shared.errors import CrossdockError
from shared.store import Store

LEASE_TTL = 60.0  # seconds; renewed every third of that while the job runs

log = structlog.get_logger(__name__)


class LeaseKeeper:
    """Acquires, renews and releases repository leases for running jobs."""

    def __init__(self, store: Store, stopping: threading.Event, ttl: float = LEASE_TTL) -> None:
        self._store = store
        self._stopping = stopping
        self._ttl = ttl
        self._held: dict[str, str] = {}
        self._lock = threading.Lock()
        self._renewer = threading.Thread(target=self._renew_loop, name="lease-renewer",
                                         daemon=True)
        self._renewer.start()

    def acquire(
        self, key: str, holder: str, on_wait: Callable[[str | None], None] | None = None
    ) -> bool:
        """Wait for the lease; False only when the consumer is stopping meanwhile."""
        delay, waited = 0.1, False
        while not self._store.try_acquire_lease(key, holder, self._ttl):
            if not waited and on_wait is not None:
                on_wait(self._store.lease_holder(key))
            waited = True
            if self._stopping.wait(delay):
                return False
            delay = min(delay * 2, 2.0)
        with self._lock:
            self._held[key] = holder
        return True

    def release(self, key: str, holder: str) -> None:
        with self._lock:
            self._held.pop(key, None)
        try:
            self._store.release_lease(key, holder)
        except CrossdockError as exc:  # it expires on its own
            log.warning("could not release a lease", lease=key, error=str(exc))

    def _renew_loop(self) -> None:
        while not self._stopping.wait(self._ttl / 3):
            with self._lock:
                held = list(self._held.items())
            for key, holder in held:
                try:
                    self._store.renew_lease(key, holder, self._ttl)
                except CrossdockError as exc:
                    log.warning("could not renew a lease", lease=key, error=str(exc))
