"""Reading our counters from message headers (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.broker import ATTEMPT_HEADER, DEFERRALS_HEADER, ROUND_START_HEADER, Delivery
from shared.broker.delivery import (
    attempt_from_headers,
    deferrals_from_headers,
    round_start_from_headers,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, 0), (0, 0), (3, 3), ("2", 2), (b"4", 4), (-1, 0), (True, 0), ("x", 0), (1.5, 0)],
)
def test_the_deferral_count_is_zero_unless_the_header_holds_a_count(
    value: Any, expected: int
) -> None:
    headers = {} if value is None else {DEFERRALS_HEADER: value}
    assert deferrals_from_headers(headers) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(None, 1), (0, 1), (-2, 1), (2, 2), ("3", 3), (b"5", 5), (True, 1)]
)
def test_the_attempt_is_one_unless_the_header_holds_a_later_attempt(
    value: Any, expected: int
) -> None:
    headers = {} if value is None else {ATTEMPT_HEADER: value}
    assert attempt_from_headers(headers) == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({}, 1), ({ATTEMPT_HEADER: 4}, 1), ({ATTEMPT_HEADER: 4, ROUND_START_HEADER: 3}, 3),
     ({ATTEMPT_HEADER: 2, ROUND_START_HEADER: 7}, 2), ({ROUND_START_HEADER: "x"}, 1)],
)
def test_a_round_starts_at_one_and_never_after_the_attempt(
    headers: dict[str, Any], expected: int
) -> None:
    assert round_start_from_headers(headers) == expected


def test_max_attempts_counts_the_attempts_of_the_round() -> None:
    redriven = Delivery(body=b"", headers={}, attempt=7, redelivered=False, queue="q",
                        endpoint="e", round_start=6)
    assert redriven.attempt_in_round == 2
