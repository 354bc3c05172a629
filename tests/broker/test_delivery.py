"""Reading our counters from message headers (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.broker import ATTEMPT_HEADER, DEFERRALS_HEADER
from shared.broker.delivery import attempt_from_headers, deferrals_from_headers


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
