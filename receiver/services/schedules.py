"""A cron schedule's next run times, in UTC as the scheduler runs them (pure, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

from receiver.services.errors import field_error
from shared.cron import CronSyntaxError, next_after

RUNS_SHOWN = 3


def next_runs(schedule: str, *, after: datetime | None = None,
              count: int = RUNS_SHOWN) -> list[datetime]:
    """The next `count` times `schedule` fires after `after` (default: now), in UTC.

    Raises `ValidationError` naming ``schedule`` for a malformed expression or one
    that never fires, with the message the rule's schema gives. Raises `ValueError`
    for a naive `after`.
    """
    moment = datetime.now(UTC) if after is None else after
    if moment.tzinfo is None:
        raise ValueError("next_runs needs a timezone-aware time")
    moment = moment.astimezone(UTC)
    runs: list[datetime] = []
    try:
        for _ in range(count):
            upcoming = next_after(schedule, moment)
            if upcoming is None:
                break
            runs.append(upcoming)
            moment = upcoming
    except CronSyntaxError as exc:
        raise field_error("schedule", str(exc)) from exc
    if not runs and count > 0:
        raise field_error("schedule", "This schedule never fires.")
    return runs
