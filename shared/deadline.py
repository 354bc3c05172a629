"""A deadline for one unit of work (a webhook, an API call that publishes).

Registries give up on a webhook after a couple of seconds and send it again, so an
answer that comes later is worse than a 503. The work checks the deadline between
its steps and hands it to the publisher; a part of it (`reserve`) is kept for the
bookkeeping after a failure, so that the 503 is still in time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from shared.errors import TransientError


class DeadlineExceededError(TransientError):
    """The work ran out of time before one of its steps."""


@dataclass(frozen=True)
class Deadline:
    """An absolute `time.monotonic()` instant, and the part kept for bookkeeping."""

    at: float
    reserve: float = 0.0

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        """A deadline `seconds` from now, keeping a quarter of it (at most 0.5 s) in reserve."""
        return cls(time.monotonic() + seconds, reserve=min(0.5, seconds / 4))

    @property
    def work_by(self) -> float:
        """When the work itself must be done (the publish confirm, for instance)."""
        return self.at - self.reserve

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def check(self, step: str) -> None:
        """Raises `DeadlineExceededError` when the work's own time is up, before `step`."""
        if time.monotonic() >= self.work_by:
            raise DeadlineExceededError(f"no time left before {step}")
