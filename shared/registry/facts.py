"""What one registry was found to have or do, remembered for a while (no I/O).

Requests that would only tell again what a registry told a moment ago are
skipped: a route it lacks, a behaviour it has. A registry can be upgraded or
reconfigured under a long-running consumer, so nothing is kept for good: after
`MEMORY` seconds a fact is unknown again and is found out anew.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

MEMORY = 600.0  # seconds

REFERRERS_ROUTE = "referrers route"  # GET /v2/<name>/referrers/<digest> exists


class RegistryFacts:
    """True/False facts about one registry, each forgotten `memory` seconds after it
    was learnt. Thread-safe."""

    def __init__(self, memory: float = MEMORY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._memory = memory
        self._clock = clock
        self._lock = threading.Lock()
        self._facts: dict[str, tuple[bool | None, float]] = {}  # None: being found out

    def get(self, fact: str) -> bool | None:
        """What was learnt lately; None when unknown or still being found out."""
        with self._lock:
            entry = self._fresh(fact)
            return None if entry is None else entry[0]

    def learn(self, fact: str, value: bool) -> None:
        with self._lock:
            self._facts[fact] = (value, self._clock())

    def claim(self, fact: str) -> bool:
        """True for one caller while `fact` is unknown: that caller finds it out and
        calls `learn`, or `forget` when it could not tell. Everyone else gets False
        until it is known and then forgotten again."""
        with self._lock:
            if self._fresh(fact) is not None:
                return False
            self._facts[fact] = (None, self._clock())
            return True

    def forget(self, fact: str) -> None:
        with self._lock:
            self._facts.pop(fact, None)

    def _fresh(self, fact: str) -> tuple[bool | None, float] | None:
        entry = self._facts.get(fact)
        if entry is None or self._clock() - entry[1] >= self._memory:
            return None
        return entry
