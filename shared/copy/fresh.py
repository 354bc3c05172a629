"""What one writer of a destination repository knows of it (`FreshRepository`).

A destination repository that had no tags when its one writer began (a consumer's
lease on it, a `crossdock sync` of its project) holds what that writer put there,
and nothing else but blobs an earlier, failed attempt may have left, which no
manifest refers to. The copy engine asks nothing there that can't be there
(`shared.copy.blobs`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class FreshRepository:
    """What one writer of a destination repository knows of it: whether it had no
    tags when the writer began, and the blobs and manifests the writer found or put
    there since. Shared by the writer's copies (threads) of that repository."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fresh: bool | None = None  # None: not asked yet
        self._blobs: set[str] = set()
        self._manifests: set[str] = set()  # tags and digests

    def settle(self, exists: Callable[[], bool | None]) -> bool:
        """Whether the repository was fresh, asked once (`exists` is whether the
        destination has the repository), by the writer's first copy, before any
        copy of it writes there: the others wait for that answer."""
        with self._lock:
            if self._fresh is None:
                self._fresh = exists() is False
            return self._fresh

    def holds_blob(self, digest: str) -> bool:
        with self._lock:
            return digest in self._blobs

    def add_blob(self, digest: str) -> None:
        with self._lock:
            self._blobs.add(digest)

    def holds_manifest(self, reference: str) -> bool:
        with self._lock:
            return reference in self._manifests

    def add_manifest(self, reference: str) -> None:
        with self._lock:
            self._manifests.add(reference)
