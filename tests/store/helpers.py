"""Test doubles and set-ups shared by the store tests (imported by conftest and the test
modules)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.store import EndpointRecord, SourceRecord, Store

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


def registry(store: Store, name: str) -> tuple[SourceRecord, EndpointRecord]:
    """Registry ``name`` known both as a source and as an endpoint (not linked)."""
    url = f"https://{name}.example.com"
    return (store.create_source(name=name, kind="distribution", url=url),
            store.create_endpoint(name=name, kind="registry", url=url))
