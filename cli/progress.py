"""A one-line progress display for a terminal, fed by the copy engine's events."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from shared.copy.events import CopyEvent, human_bytes


class ProgressLine:
    """Redraws ``images 3/20 · 48.0 MiB · 61.2 MiB/s`` at most ten times a second."""

    def __init__(self, stream: TextIO | None = None, *, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.started = time.monotonic()
        self.total: int | None = None
        self.done = 0
        self.nbytes = 0
        self._last_draw = 0.0
        self._lock = threading.Lock()

    def on_event(self, event: CopyEvent) -> None:
        if event.kind == "progress":
            with self._lock:
                self.nbytes += event.nbytes
            self._draw()

    def listed(self, total: int) -> None:
        self.total = total
        self._draw(force=True)

    def image_done(self) -> None:
        with self._lock:
            self.done += 1
        self._draw(force=True)

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def _draw(self, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        elapsed = max(now - self.started, 1e-6)
        images = f"images {self.done}/{self.total}" if self.total is not None else "copying"
        rate = human_bytes(self.nbytes / elapsed) + "/s"
        line = f"{images} · {human_bytes(self.nbytes)} · {rate}"
        with self._lock:
            self.stream.write("\r\033[K" + line)
            self.stream.flush()
