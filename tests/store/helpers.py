"""Test doubles shared by the store tests (imported by conftest and the test modules)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

RawQuery = Callable[[str], list[tuple[Any, ...]]]
"""Runs SQL with the bare driver (sqlite3 or psycopg), bypassing the store."""


class FakeClock:
    """A clock the tests move by hand (lease expiry, pruning, timestamps)."""

    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
