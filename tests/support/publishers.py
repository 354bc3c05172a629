"""A real `Publisher` that remembers which endpoints it declared queues for, so that
tests can delete exactly those queues afterwards."""

from __future__ import annotations

from shared.broker import Publisher
from shared.settings import Settings


class RecordingPublisher(Publisher):
    def __init__(self, settings: Settings, name: str = "test-publisher") -> None:
        super().__init__(settings, name=name)
        self.endpoints: set[str] = set()

    def ensure_endpoint(self, endpoint: str, *, deadline: float | None = None) -> None:
        self.endpoints.add(endpoint)
        super().ensure_endpoint(endpoint, deadline=deadline)
