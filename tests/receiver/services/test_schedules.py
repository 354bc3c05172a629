"""`receiver.services.schedules.next_runs`: what a rule's form shows under its schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from marshmallow import ValidationError

from receiver.api.rule_schemas import rule_patch
from receiver.services.schedules import next_runs

NOON = datetime(2030, 1, 1, 12, 0, 30, tzinfo=UTC)  # a Tuesday


def test_the_next_three_runs_in_utc() -> None:
    assert next_runs("0 3 * * *", after=NOON) == [
        datetime(2030, 1, 2, 3, 0, tzinfo=UTC), datetime(2030, 1, 3, 3, 0, tzinfo=UTC),
        datetime(2030, 1, 4, 3, 0, tzinfo=UTC)]
    assert next_runs("*/20 * * * *", after=NOON, count=2) == [
        datetime(2030, 1, 1, 12, 20, tzinfo=UTC), datetime(2030, 1, 1, 12, 40, tzinfo=UTC)]


def test_a_time_in_another_zone_gives_the_same_runs_in_utc() -> None:
    tokyo = NOON.astimezone(timezone(timedelta(hours=9)))
    runs = next_runs("@hourly", after=tokyo)
    assert runs == next_runs("@hourly", after=NOON)
    assert all(run.tzinfo is UTC for run in runs)


def test_without_a_time_the_runs_follow_now() -> None:
    before = datetime.now(UTC)
    [first] = next_runs("* * * * *", count=1)
    after = datetime.now(UTC)
    assert before < first <= after + timedelta(minutes=1)


def test_a_schedule_that_fires_rarely_gives_what_it_has() -> None:
    assert next_runs("0 0 29 2 *", after=NOON) == [
        datetime(2032, 2, 29, tzinfo=UTC), datetime(2036, 2, 29, tzinfo=UTC),
        datetime(2040, 2, 29, tzinfo=UTC)]


@pytest.mark.parametrize("schedule", ["0 3 * *", "61 * * * *", "0 0 31 2 *"])
def test_a_bad_schedule_is_the_field_error_the_schema_gives(schedule: str) -> None:
    with pytest.raises(ValidationError) as raised:
        next_runs(schedule, after=NOON)
    with pytest.raises(ValidationError) as schema:
        rule_patch.load({"schedule": schedule}, partial=True)
    assert raised.value.messages == schema.value.messages


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_runs("@daily", after=datetime(2030, 1, 1))
