"""Five-field cron expressions: what parses, and when it fires next."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.cron import CronSyntaxError, next_after, parse

NOON = datetime(2030, 1, 1, 12, 0, 30, tzinfo=UTC)  # a Tuesday


def at(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(("expression", "expected"), [
    ("* * * * *", at(2030, 1, 1, 12, 1)),
    ("*/15 * * * *", at(2030, 1, 1, 12, 15)),
    ("0 3 * * *", at(2030, 1, 2, 3, 0)),
    ("30 2 1 * *", at(2030, 2, 1, 2, 30)),
    ("0 0 * * sun", at(2030, 1, 6, 0, 0)),
    ("0 0 * * 7", at(2030, 1, 6, 0, 0)),
    ("0 9-17/4 * * mon-fri", at(2030, 1, 1, 13, 0)),
    ("5,10 12 * * *", at(2030, 1, 1, 12, 5)),
    ("0 0 1 jan *", at(2031, 1, 1, 0, 0)),
    ("0 0 29 2 *", at(2032, 2, 29, 0, 0)),
    ("@daily", at(2030, 1, 2, 0, 0)),
    ("@hourly", at(2030, 1, 1, 13, 0)),
    ("  0   12  *  *  *  ", at(2030, 1, 2, 12, 0)),
])
def test_next_after_finds_the_next_minute(expression: str, expected: datetime) -> None:
    assert next_after(expression, NOON) == expected


def test_both_day_fields_restricted_means_either_day() -> None:
    # The 15th, or any Friday: Friday 4 January comes first.
    assert next_after("0 0 15 * fri", NOON) == at(2030, 1, 4, 0, 0)


def test_a_starred_step_in_one_day_field_means_both_must_match() -> None:
    # Vixie cron: "*/2" counts as "*", so the weekday restriction applies with it.
    assert next_after("0 0 */2 * mon", NOON) == at(2030, 1, 7, 0, 0)


def test_an_expression_that_never_fires_gives_none() -> None:
    assert next_after("0 0 31 2 *", NOON) is None


def test_next_after_is_strictly_later() -> None:
    assert next_after("0 12 * * *", at(2030, 1, 1, 12, 0)) == at(2030, 1, 2, 12, 0)


def test_a_parsed_expression_can_be_reused() -> None:
    cron = parse("0 * * * *")
    assert cron.minutes == frozenset({0}) and len(cron.hours) == 24
    assert next_after(cron, NOON) == at(2030, 1, 1, 13, 0)


@pytest.mark.parametrize(("expression", "message"), [
    ("", "5 fields"),
    ("* * * *", "5 fields"),
    ("* * * * * *", "5 fields"),
    ("60 * * * *", "minute: 60 is outside 0-59"),
    ("* 24 * * *", "hour"),
    ("* * 0 * *", "day of month"),
    ("* * * 13 *", "month"),
    ("* * * * 8", "day of week"),
    ("5-1 * * * *", "runs backwards"),
    ("*/0 * * * *", "minute"),
    ("a * * * *", "minute"),
    ("1,,2 * * * *", "minute"),
    ("-1 * * * *", "minute"),
    ("* * * * mon-", "day of week"),
    ("\u0661 * * * *", "minute"),  # a non-ASCII digit
    ("@reboot", "5 fields"),
])
def test_malformed_expressions_are_refused(expression: str, message: str) -> None:
    with pytest.raises(CronSyntaxError, match=message):
        parse(expression)
