"""A monotonic clock that a test moves by hand."""

from __future__ import annotations


class ManualClock:
    """Seconds, as `time.monotonic` gives them; move on with ``clock.now += n``."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
