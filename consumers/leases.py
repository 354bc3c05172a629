"""One job at a time per (endpoint, repository), however many consumers run
(DESIGN invariant 4), through short leases in the store kept alive while a job runs.

A lease belongs to one *run* of a job: its holder is fresh for each delivery the
handler runs (`new_holder`), so a message redelivered while an earlier run is
still copying waits for that run like any other job would. A run has lost its
leases when a renewal is refused (the lease expired and another run took it), or
when no renewal got through for a whole TTL (the store unreachable: the lease may
have expired meanwhile). `LeaseKeeper.lost` then says why, and the run stops at
its next checkpoint.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from shared.errors import CrossdockError
from shared.store import Store

LEASE_TTL = 60.0  # seconds; renewed every third of that while the job runs

log = structlog.get_logger(__name__)


def new_holder(job_id: int) -> str:
    """A holder name for one run of job `job_id`: ``run-<job>-<8 hex>``."""
    return f"run-{job_id}-{secrets.token_hex(4)}"


@dataclass
class _Held:
    """One lease this process holds: whose, when it last surely held it, lost or not."""

    holder: str
    renewed: float  # clock time when the last successful acquire or renewal started
    lost: str | None = None


class LeaseKeeper:
    """Acquires, renews and releases repository leases for running jobs."""

    def __init__(
        self, store: Store, stopping: threading.Event, ttl: float = LEASE_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._stopping = stopping
        self._ttl = ttl
        self._clock = clock
        self._held: dict[str, _Held] = {}
        self._lock = threading.Lock()
        self._renewer = threading.Thread(target=self._renew_loop, name="lease-renewer",
                                         daemon=True)
        self._renewer.start()

    def acquire(
        self, key: str, holder: str, on_wait: Callable[[str | None], None] | None = None
    ) -> bool:
        """Wait for the lease; False only when the consumer is stopping meanwhile."""
        delay, waited = 0.1, False
        while True:
            asked = self._clock()
            if self._store.try_acquire_lease(key, holder, self._ttl):
                break
            if not waited and on_wait is not None:
                on_wait(self._store.lease_holder(key))
            waited = True
            if self._stopping.wait(delay):
                return False
            delay = min(delay * 2, 2.0)
        with self._lock:
            self._held[key] = _Held(holder, asked)
        return True

    def release(self, key: str, holder: str) -> None:
        with self._lock:
            if key in self._held and self._held[key].holder == holder:
                del self._held[key]
        try:
            self._store.release_lease(key, holder)
        except CrossdockError as exc:  # it expires on its own
            log.warning("could not release a lease", lease=key, error=str(exc))

    def lost(self, holder: str) -> str | None:
        """Why `holder` can no longer be sure it holds its leases, or None while it is.
        Once lost, a lease stays lost for this holder until released."""
        now = self._clock()
        with self._lock:
            for key, held in self._held.items():
                if held.holder != holder:
                    continue
                if held.lost is None and now - held.renewed >= self._ttl:
                    held.lost = (f"lease {key} could not be renewed for {self._ttl:g} s (the "
                                 "store is unreachable), so it may have expired and been taken")
                if held.lost is not None:
                    return held.lost
        return None

    def renew(self) -> None:
        """Renew every lease held and not lost, once (the renewer thread calls this
        every third of the TTL). A refused renewal marks the lease lost."""
        with self._lock:
            held = [(key, h.holder) for key, h in self._held.items() if h.lost is None]
        for key, holder in held:
            asked = self._clock()
            try:
                renewed = self._store.renew_lease(key, holder, self._ttl)
            except CrossdockError as exc:
                log.warning("could not renew a lease", lease=key, holder=holder, error=str(exc))
                self.lost(holder)  # marks it once a whole TTL has gone by
                continue
            with self._lock:
                current = self._held.get(key)
                if current is None or current.holder != holder or current.lost is not None:
                    continue  # released meanwhile, or already given up
                if renewed:
                    current.renewed = asked
                else:
                    current.lost = f"lease {key} was taken by another run (it had expired)"
            if not renewed:
                log.warning("lease lost: renewal refused", lease=key, holder=holder)

    def _renew_loop(self) -> None:
        while not self._stopping.wait(self._ttl / 3):
            self.renew()
