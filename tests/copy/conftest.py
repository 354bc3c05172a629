"""Fixtures for copy-engine tests: an engine that records its events."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.copy.engine import CopyEngine, CopyOptions
from shared.copy.events import CopyEvent


class EventLog:
    """Collects the engine's events so tests can read its log lines."""

    def __init__(self) -> None:
        self.events: list[CopyEvent] = []

    def __call__(self, event: CopyEvent) -> None:
        self.events.append(event)

    @property
    def lines(self) -> list[str]:
        return [e.message for e in self.events if e.kind == "log"]

    @property
    def progress_bytes(self) -> int:
        return sum(e.nbytes for e in self.events if e.kind == "progress")


@pytest.fixture
def events() -> EventLog:
    return EventLog()


@pytest.fixture
def engine(events: EventLog) -> Iterator[CopyEngine]:
    with CopyEngine(CopyOptions(blob_workers=4, chunk_size=8 * 1024 * 1024),
                    on_event=events) as copy_engine:
        yield copy_engine
