"""What one writer of a destination repository knows of it (`FreshRepository`).

A destination repository that had no tags when its one writer began (a consumer's
lease on it, a `crossdock sync` of its project) holds what that writer put there,
and nothing else but blobs an earlier, failed attempt may have left, which no
manifest refers to. One the registry's catalog didn't list holds not even those
(Distribution lists a repository once a blob is linked in it). The copy engine asks
nothing there that can't be there (`shared.copy.blobs`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from enum import Enum


class Presence(Enum):
    """What the destination said of a repository before its writer began."""

    UNKNOWN = "unknown"  # no answer to go by: every copy asks as usual
    PRESENT = "present"  # it has tags, or content of some kind (listed in the catalog)
    UNTAGGED = "untagged"  # no tags: at most blobs an earlier, failed attempt left
    EMPTY = "empty"  # not in the catalog: not even such blobs

    @classmethod
    def from_exists(cls, exists: bool | None) -> Presence:
        """From `RegistryClient.repository_exists` (a one-tag listing)."""
        if exists is None:
            return cls.UNKNOWN
        return cls.PRESENT if exists else cls.UNTAGGED


class FreshRepository:
    """What one writer of a destination repository knows of it: whether it had no
    tags (or nothing at all) when the writer began, and the blobs and manifests the
    writer found or put there since. Shared by the writer's copies (threads) of that
    repository."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._presence: Presence | None = None  # None: not asked yet
        self._blobs: set[str] = set()
        self._manifests: set[str] = set()  # tags and digests

    def settle(self, presence: Callable[[], Presence]) -> bool:
        """Whether the repository was fresh (untagged or empty), asked once by the
        writer's first copy, before any copy of it writes there: the others wait
        for that answer."""
        with self._lock:
            if self._presence is None:
                self._presence = presence()
            return self._presence in (Presence.UNTAGGED, Presence.EMPTY)

    @property
    def empty(self) -> bool:
        """Whether the repository held nothing at all, not even a blob, when settled."""
        with self._lock:
            return self._presence is Presence.EMPTY

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
