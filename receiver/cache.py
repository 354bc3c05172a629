"""A few seconds of memory for configuration records the webhook path reads on
every event: a source with its secret, an endpoint. Rules are always read
fresh, so a rule change applies to the very next event; a changed secret or
endpoint URL applies within `TTL_SECONDS` (a refused delivery is retried by the
registry)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

TTL_SECONDS = 5.0


class TtlCache(Generic[K, V]):
    """Values loaded on demand and kept for `ttl` seconds; thread-safe."""

    def __init__(self, load: Callable[[K], V], ttl: float = TTL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._load = load
        self._ttl = ttl
        self._clock = clock
        self._items: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V:
        now = self._clock()
        with self._lock:
            item = self._items.get(key)
        if item is not None and item[0] > now:
            return item[1]
        value = self._load(key)  # errors (not found, store down) are not cached
        with self._lock:
            self._items[key] = (now + self._ttl, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
