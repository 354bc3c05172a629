"""Getting one blob into a destination repository, the cheapest way there is.

Already there: nothing to do. Known elsewhere in the destination registry (this
process put or saw it there): cross-repository mount. Same registry as the
source: mount from the source repository. Otherwise: stream it across. A blob
that another thread is already uploading to the same registry is waited for and
then mounted, so a base layer shared by many images crosses the wire once.

One thread at a time asks about or writes a blob in a repository: it claims the
blob there first, and the others wait for it. On Distribution's filesystem storage
the write of a blob's link file is not atomic, so a HEAD of that blob in that
repository while it is being written can answer 500 (seen in a one-repository
sync of 300 tags: a HEAD of the shared base), and a second write of it makes a
manifest PUT or pull reading it fail.

A destination repository that had no tags when its one writer began (a consumer's
lease on it, a `crossdock sync` of its project), a `FreshRepository`, holds what
that writer put there, and nothing else but blobs an earlier, failed attempt may
have left, which no manifest refers to. Nothing reads a link there that the writer
has not put, so a blob is mounted there, or uploaded when small, without asking.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from shared.copy.checkpoint import Checkpoint, no_checkpoint
from shared.copy.events import CopyEvent, EventSink, human_bytes, short_digest
from shared.copy.fresh import FreshRepository
from shared.errors import AuthenticationError, NotFoundError
from shared.registry import Descriptor, RegistryClient

# Seconds a blob found or put in a destination repository is trusted to be there.
LOCATOR_MEMORY = 120.0
# Bytes up to which a blob is uploaded into a fresh destination repository without a
# HEAD first: one an earlier attempt left there is sent again for a few times the
# registry CPU a HEAD costs (`bench/registry_requests.py`: a HEAD 1.3-1.7 ms, a 4 KiB
# upload 5.3-5.8 ms, a mount 2.1-2.6 ms, against Distribution), while a larger one is
# asked about, since the HEAD is nothing next to sending it again. In an empty one
# (absent from the catalog) no earlier attempt left anything: nothing is asked.
UNASKED_UPLOAD_MAX = 64 * 1024


@dataclass
class TransferStats:
    """Counters for one copy; updated from several threads."""

    bytes_uploaded: int = 0
    blobs_uploaded: int = 0
    blobs_mounted: int = 0
    blobs_present: int = 0
    manifests_put: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


@dataclass(frozen=True)
class Claim:
    """The right to ask about and write one blob in one repository, until released.

    `mount_from`: a repository of the registry known to hold it, else None (upload)."""

    key: tuple[str, str | None]  # (digest, repository), or (digest, None) for an upload
    mount_from: str | None


class BlobLocator:
    """Which repositories of one destination registry hold which blobs, as this
    process found or put them there, and which blobs are being written there now."""

    def __init__(self, memory: float = LOCATOR_MEMORY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._memory = memory
        self._clock = clock
        self._known: dict[str, dict[str, float]] = {}  # digest -> repository -> when
        self._claimed: dict[tuple[str, str | None], threading.Event] = {}

    def remember(self, digest: str, repository: str) -> None:
        with self._lock:
            self._known.setdefault(digest, {})[repository] = self._clock()

    def holds(self, digest: str, repository: str) -> bool:
        """Whether `repository` was found or made to hold `digest` lately (within
        `memory` seconds): a HEAD would only say so again."""
        with self._lock:
            seen = self._known.get(digest, {}).get(repository)
        return seen is not None and self._clock() - seen < self._memory

    def forget(self, repository: str) -> None:
        """Trust nothing remembered about `repository` (it missed a blob after all)."""
        with self._lock:
            for holders in self._known.values():
                holders.pop(repository, None)

    def claim(self, digest: str, repository: str) -> Claim | threading.Event:
        """Claim `digest` in `repository`, or the event to wait for before asking again.

        An upload of `digest` in flight anywhere in the registry, or another claim
        of it in `repository`, is waited for: afterwards it can be mounted, or is
        there already. Otherwise the claim is the caller's, to mount (a repository
        known to hold it) or upload, and must be released."""
        with self._lock:
            busy = (self._claimed.get((digest, None))
                    or self._claimed.get((digest, repository)))
            if busy is not None:
                return busy
            holders = sorted(set(self._known.get(digest, {})) - {repository})
            claim = (Claim((digest, repository), holders[0]) if holders
                     else Claim((digest, None), None))
            self._claimed[claim.key] = threading.Event()
            return claim

    def release(self, claim: Claim) -> None:
        with self._lock:
            event = self._claimed.pop(claim.key, None)
        if event is not None:
            event.set()


@dataclass(frozen=True)
class BlobCopy:
    """Everything one blob transfer needs to know."""

    source: RegistryClient
    source_repository: str
    destination: RegistryClient
    destination_repository: str
    chunk_size: int
    emit: EventSink
    stats: TransferStats
    locator: BlobLocator
    checkpoint: Checkpoint = no_checkpoint  # before each upload or mount (a write)
    fresh: FreshRepository | None = None  # the destination repository, when fresh

    def run(self, blob: Descriptor) -> None:
        """Make `blob` present in the destination repository, verified.

        Whether it is there already is asked by a HEAD (but in a fresh destination
        repository, see the module's docstring), never by a write: in
        Distribution's filesystem storage, mounting or uploading a blob a
        repository already holds rewrites its link file, and a pull or manifest
        PUT reading that file meanwhile fails (HEAD 500, DIGEST_INVALID). The HEAD
        and the write happen under the blob's claim in the repository, so no other
        thread of this process asks about it there while it is being written, nor
        writes it there twice. A blob this process found or put in that repository
        a moment ago is not asked about again (the manifest PUT re-checks, should
        it have gone meanwhile).
        """
        repo, digest = self.destination_repository, blob.digest
        while True:
            if self.locator.holds(digest, repo):
                self._present(blob)
                return
            claim = self.locator.claim(digest, repo)
            if isinstance(claim, Claim):
                break
            claim.wait()
        try:
            fresh = self.fresh
            if fresh is not None and fresh.holds_blob(digest):
                self._present(blob)
                return
            mount_from = claim.mount_from
            if mount_from is None and self.source.host == self.destination.host:
                mount_from = self.source_repository
            unasked = fresh is not None and (mount_from is not None or fresh.empty
                                             or blob.size <= UNASKED_UPLOAD_MAX)
            if not unasked and self.destination.blob_size(repo, digest) is not None:
                self._present(blob)
            else:
                self._transfer(blob, mount_from)
                if fresh is not None:
                    fresh.add_blob(digest)
            self.locator.remember(digest, repo)
        finally:
            self.locator.release(claim)

    def _transfer(self, blob: Descriptor, mount_from: str | None) -> None:
        """Mount or upload `blob`."""
        repo, digest = self.destination_repository, blob.digest
        mount = (digest, mount_from) if mount_from else None
        for attempt in (1, 2):
            self.checkpoint()
            session = self.destination.start_upload(repo, mount=mount)
            if session is None:
                self.stats.add(blobs_mounted=1)
                self._log(blob, f"mounted from {mount_from}")
                return
            sent = 0

            def progress(count: int) -> None:
                nonlocal sent
                sent += count
                self.emit(CopyEvent("progress", repo, digest=digest, nbytes=count))

            try:
                with self.source.open_blob(self.source_repository, digest) as chunks:
                    mode = self.destination.upload_blob(
                        repo, session, digest, blob.size, chunks,
                        chunk_size=self.chunk_size, progress=progress,
                    )
            except (NotFoundError, AuthenticationError) as exc:
                # An upload session can expire, and a token can run out during a
                # long stream: start this blob once more from the POST.
                self.emit(CopyEvent("progress", repo, digest=digest, nbytes=-sent))
                if attempt == 2 or (isinstance(exc, NotFoundError) and "BLOB_UPLOAD" not in
                                    str(exc.code)):
                    raise
                self._log(blob, f"upload restarted after: {exc}", level="warning")
                continue
            self.stats.add(blobs_uploaded=1, bytes_uploaded=blob.size)
            self._log(blob, f"uploaded ({mode}, {human_bytes(blob.size)})")
            return
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _present(self, blob: Descriptor) -> None:
        if self.fresh is not None:
            self.fresh.add_blob(blob.digest)
        self.stats.add(blobs_present=1)
        self._log(blob, "already present")

    def _log(self, blob: Descriptor, what: str, *, level: str = "info") -> None:
        message = f"blob {short_digest(blob.digest)} {what}"
        self.emit(CopyEvent("log", self.destination_repository, message=message,
                            digest=blob.digest, level=level))
