"""Values that come from a registry or RabbitMQ, kept in memory and refreshed in
the background, so that a request never waits on them beyond a short bound.

A value past its age is served as it is while a thread of its own loads a new
one (stale-while-revalidate); a value never loaded is waited for at most the
caller's `wait`, after which the caller gets a snapshot that says it is still
loading. Loads run on threads started when a read needs one (at most `workers`
load at once per cache, one per key), never on the thread that serves the
request, so the threads that serve webhooks are never tied up. A load that fails
keeps the last value, says why, and is tried again `retry_after` seconds later.
Each process keeps its own values.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

import structlog

from shared.errors import CrossdockError

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

log = structlog.get_logger("crossdock.receiver")


@dataclass(frozen=True)
class Snapshot(Generic[V]):
    """What a cache holds for a key right now."""

    value: V | None  # None: never loaded
    loaded_at: datetime | None  # when `value` was loaded (UTC)
    error: str | None  # why the last load failed (`value` is then older, or None)
    refreshing: bool  # a load is running

    @property
    def loading(self) -> bool:
        """Nothing to show yet, and no failure to show instead: the first load runs."""
        return self.value is None and self.error is None


class _Entry(Generic[V]):
    """One key's value and the state of its loads (guarded by the cache's lock)."""

    def __init__(self) -> None:
        self.value: V | None = None
        self.loaded_at: datetime | None = None
        self.error: str | None = None
        self.due_at: float | None = None  # monotonic; None: load at the next read
        self.running: threading.Event | None = None
        self.expired_while_running = False  # the running load may have read too early

    def snapshot(self) -> Snapshot[V]:
        return Snapshot(self.value, self.loaded_at, self.error, self.running is not None)


class BackgroundCache(Generic[K, V]):
    """`load(key)` results, refreshed in the background after `max_age` seconds.

    `load` returns a value (not None) or raises a `CrossdockError` to say it failed
    (other exceptions are logged as bugs, and reported the same way).
    """

    def __init__(self, load: Callable[[K], V], *, name: str, max_age: float,
                 retry_after: float = 5.0, workers: int = 2,
                 clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._load = load
        self.name = name
        self._max_age = max_age
        self._retry_after = retry_after
        self._slots = threading.BoundedSemaphore(workers)
        self._clock = clock
        self._now = now
        self._entries: dict[K, _Entry[V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K, *, wait: float = 0.0) -> Snapshot[V]:
        """The value of `key` as it is now; starts a load when it is due. Waits up to
        `wait` seconds for a value never loaded, never for a refresh."""
        with self._lock:
            entry = self._entries.setdefault(key, _Entry())
            if entry.running is None and (entry.due_at is None or
                                          self._clock() >= entry.due_at):
                entry.running = threading.Event()
                self._start(key, entry, entry.running)
            running = entry.running
            snapshot = entry.snapshot()
        if snapshot.value is None and running is not None and wait > 0:
            running.wait(wait)
            with self._lock:
                snapshot = entry.snapshot()
        return snapshot

    def expire(self, key: K) -> None:
        """Make `key`'s value due: the next read loads it again (and serves the old
        value meanwhile)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                entry.due_at = None
                entry.expired_while_running = entry.running is not None

    def forget(self, key: K) -> None:
        """Drop `key`'s value: the next read loads it afresh (a load running now is
        dropped when it ends)."""
        with self._lock:
            self._entries.pop(key, None)

    def _start(self, key: K, entry: _Entry[V], done: threading.Event) -> None:
        thread = threading.Thread(target=self._refresh, args=(key, entry, done),
                                  name=f"crossdock-{self.name}-refresh", daemon=True)
        thread.start()

    def _refresh(self, key: K, entry: _Entry[V], done: threading.Event) -> None:
        value: V | None = None
        error: str | None = None
        with self._slots:
            try:
                value = self._load(key)
            except CrossdockError as exc:
                error = str(exc) or type(exc).__name__
                log.warning("background refresh failed", cache=self.name, key=str(key),
                            error=error)
            except Exception as exc:  # a bug: said on the page, not fatal to the thread
                error = f"unexpected error: {exc!r}"
                log.exception("background refresh failed unexpectedly", cache=self.name,
                              key=str(key))
        with self._lock:
            if error is None:
                entry.value, entry.loaded_at, entry.error = value, self._now(), None
                entry.due_at = self._clock() + self._max_age
            else:
                entry.error = error
                entry.due_at = self._clock() + self._retry_after
            if entry.expired_while_running:
                entry.due_at, entry.expired_while_running = None, False
            entry.running = None
        done.set()
