"""What the copy engine tells its caller while it works.

The CLI draws progress from these events; a consumer writes a job's log from
them. Byte counts come as `progress` events, everything worth a log line as a
`log` event, and every manifest about to be written as a `put` event (sent
before the PUT, so a consumer can record the write before the destination
registry notifies anyone of it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class CopyEvent:
    """One thing that happened during a copy."""

    kind: str  # "log", "progress" or "put"
    repository: str
    message: str = ""
    digest: str | None = None
    reference: str | None = None  # "put": the tag or digest being written
    nbytes: int = 0
    level: str = "info"


EventSink = Callable[[CopyEvent], None]


def discard(_event: CopyEvent) -> None:
    """An event sink that ignores everything."""


def human_bytes(count: float) -> str:
    """``1536`` → ``1.5 KiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(count) < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"


def short_digest(digest: str) -> str:
    """``sha256:0123456789ab…`` for log lines."""
    algorithm, _, encoded = digest.partition(":")
    return f"{algorithm}:{encoded[:12]}" if encoded else digest
