"""What a handler sees and answers: a `Delivery` in, an `Outcome` out. Plus our headers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: The attempt this message runs as, in every queue: 1 for a new job; in a retry
#: queue and in the failed queue the attempt after the one that failed (what it runs
#: as once back in work); in the defer queue the same attempt again (a deferral is
#: not an attempt). Counted over the job's life: a redrive or ``jobs retry`` keeps it.
#: The broker's `x-death` counts are not used: they change shape between versions
#: and reset when an operator moves a message by hand.
ATTEMPT_HEADER = "x-crossdock-attempt"
#: The attempt the message's current round began with (absent: 1). A round has
#: ``max_attempts`` attempts; a redrive or ``jobs retry`` starts a new one.
ROUND_START_HEADER = "x-crossdock-round-start"
#: The last error, on retried and parked copies.
ERROR_HEADER = "x-crossdock-error"
#: On parked copies: "failed" (permanent) or "exhausted" (out of attempts).
REASON_HEADER = "x-crossdock-reason"
#: On parked copies: the work queue to move the message back to once fixed.
ORIGIN_HEADER = "x-crossdock-origin-queue"
#: How many times the job was deferred (absent: never). Deferrals are not attempts.
DEFERRALS_HEADER = "x-crossdock-deferrals"
#: On deferred copies: why the last deferral happened.
DEFER_REASON_HEADER = "x-crossdock-defer-reason"


def _always_alive() -> bool:
    return True


@dataclass(frozen=True)
class Delivery:
    """One message handed to a handler."""

    body: bytes
    headers: Mapping[str, Any]  # read-only
    attempt: int  # from ATTEMPT_HEADER; 1 for the first run
    redelivered: bool  # True when a consumer died (or stopped) holding it
    queue: str  # the work queue it came from
    endpoint: str
    message_id: str | None = None
    deferrals: int = 0  # from DEFERRALS_HEADER; 0 until the job is first deferred
    round_start: int = 1  # from ROUND_START_HEADER; at most `attempt`
    #: False once the channel that delivered the message has closed: nothing can be
    #: acked there any more, and the broker redelivers the message (to another
    #: consumer, perhaps while this handler still runs). Any thread may call it.
    connection_alive: Callable[[], bool] = field(default=_always_alive, compare=False,
                                                 repr=False)

    @property
    def attempt_in_round(self) -> int:
        """Which attempt of its round this is (1-based): what ``max_attempts`` and the
        retry tiers count."""
        return self.attempt - self.round_start + 1


@dataclass(frozen=True)
class Ack:
    """Done: succeeded, skipped, or nothing to do."""


@dataclass(frozen=True)
class Retry:
    """Failed for a transient reason: run again after the next delay tier, or park
    the message once `max_attempts` is reached."""

    error: str


@dataclass(frozen=True)
class Fail:
    """Failed for a permanent reason (or undecodable): park in the failed queue now."""

    error: str


@dataclass(frozen=True)
class Defer:
    """Not ready to conclude (the registry has not finished its own write): run again
    after `defer_seconds`, with the same attempt number and one more deferral."""

    reason: str


@dataclass(frozen=True)
class Abandon:
    """The run stopped without an outcome (it lost its lease or its connection):
    nothing is published; on a live connection the message is requeued for a new
    run, on a dead one the broker redelivers it anyway."""

    reason: str


Outcome = Ack | Retry | Fail | Defer | Abandon
Handler = Callable[[Delivery], Outcome]


def attempt_from_headers(headers: Mapping[str, Any]) -> int:
    """Our attempt header; 1 when missing or unreadable (a hand-published message)."""
    return max(_count(headers.get(ATTEMPT_HEADER)), 1)


def round_start_from_headers(headers: Mapping[str, Any]) -> int:
    """Where the message's round of attempts began: 1 when missing or unreadable, and
    never after its attempt."""
    return min(max(_count(headers.get(ROUND_START_HEADER)), 1), attempt_from_headers(headers))


def deferrals_from_headers(headers: Mapping[str, Any]) -> int:
    """Our deferral counter; 0 when missing or unreadable."""
    return _count(headers.get(DEFERRALS_HEADER))


def _count(value: Any) -> int:
    """A non-negative integer header (int, or decimal text as sent by hand); else 0."""
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    if isinstance(value, str) and value.isdecimal():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return 0
