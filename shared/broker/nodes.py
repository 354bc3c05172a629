"""Which RabbitMQ node to try first, and how long to wait before another round.

Pure logic: no sockets. Each process shuffles the node list once, so a
cluster's clients spread over its nodes; a node that failed recently is tried
after the others, so a dead node costs one timeout per round at most.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence

FORGET_FAILURE_SECONDS = 30.0


class NodeList:
    """The order in which to try a broker's nodes; safe to share between threads."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        forget_after: float = FORGET_FAILURE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        shuffle: Callable[[list[str]], None] = random.shuffle,
    ) -> None:
        order = list(dict.fromkeys(urls))
        shuffle(order)
        self._urls = tuple(order)
        self._forget_after = forget_after
        self._clock = clock
        self._failed: dict[str, float] = {}  # url -> when it last failed
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._urls)

    def order(self) -> list[str]:
        """Every node: healthy ones in this process's order, then the recently failed,
        the longest-failed first."""
        now = self._clock()
        with self._lock:
            recent = {url: at for url, at in self._failed.items()
                      if now - at < self._forget_after}
        healthy = [url for url in self._urls if url not in recent]
        return healthy + sorted(recent, key=recent.__getitem__)

    def failed(self, url: str) -> None:
        """`url` could not be reached or lost its connection just now."""
        with self._lock:
            self._failed[url] = self._clock()

    def succeeded(self, url: str) -> None:
        with self._lock:
            self._failed.pop(url, None)


def reconnect_delay(
    rounds: int, *, first: float = 1.0, cap: float = 5.0,
    uniform: Callable[[float, float], float] = random.uniform,
) -> float:
    """Seconds to wait after `rounds` (1, 2, …) failed rounds over every node.

    Full jitter: uniform between 0 and ``first * 2**(rounds - 1)``, at most `cap`,
    so the first retry comes within `first` seconds and clients don't stampede a
    node that comes back.
    """
    ceiling = min(cap, first * 2 ** max(0, min(rounds - 1, 30)))
    return uniform(0.0, ceiling)
