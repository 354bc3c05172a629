"""Copy one image (tag or digest) from one registry to another, exactly.

Order (DESIGN.md, copy algorithm): resolve at the source; skip when the
destination already has it; children of an index first, by digest; blobs in
parallel; the manifest last, so nothing is visible before all it points at is
there; then the image's referrers (signatures, SBOMs, attestations).
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace

from shared.copy.blobs import BlobCopy, BlobLocator, TransferStats
from shared.copy.checkpoint import Checkpoint, no_checkpoint
from shared.copy.events import CopyEvent, EventSink, discard, short_digest
from shared.copy.fresh import FreshRepository
from shared.errors import NotFoundError, RegistryRejectedError
from shared.registry import Descriptor, Manifest, RegistryClient
from shared.registry.manifests import is_digest

REFERRER_TAG_SUFFIXES = (".sig", ".att", ".sbom")  # cosign's tag-based attachments
MAX_REFERRER_DEPTH = 2  # a signature of an SBOM of an image, and no deeper


@dataclass(frozen=True)
class CopyOptions:
    """How the engine copies; taken from settings and, later, from a rule."""

    blob_workers: int = 6
    chunk_size: int = 32 * 1024 * 1024
    copy_referrers: bool = True
    override: bool = True  # replace a destination tag that points at another digest
    # Tags the caller copies apart (each by a job of its own): the referrers' tag
    # fallback does not look for them.
    tags_copied_apart: Callable[[str], bool] | None = None


@dataclass(frozen=True)
class CopyResult:
    """The outcome of copying one reference."""

    source: str
    destination: str
    digest: str
    status: str  # "copied" or "skipped"
    reason: str = ""
    bytes_uploaded: int = 0
    blobs_uploaded: int = 0
    blobs_mounted: int = 0
    blobs_present: int = 0
    manifests_put: int = 0
    referrers: tuple[CopyResult, ...] = field(default_factory=tuple)
    seconds: float = 0.0

    @property
    def total_bytes_uploaded(self) -> int:
        return self.bytes_uploaded + sum(r.total_bytes_uploaded for r in self.referrers)


class CopyEngine:
    """Copies images; one per process, shared by threads (one blob pool, one
    record of where blobs already are in each destination registry)."""

    def __init__(self, options: CopyOptions, *, on_event: EventSink = discard) -> None:
        self.options = options
        self.on_event = on_event
        self._pool = ThreadPoolExecutor(options.blob_workers, thread_name_prefix="blob")
        self._locators: dict[str, BlobLocator] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> CopyEngine:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def copy(
        self,
        source: RegistryClient,
        source_repository: str,
        reference: str,
        destination: RegistryClient,
        destination_repository: str,
        *,
        tag: str | None = None,
        on_event: EventSink | None = None,
        options: CopyOptions | None = None,
        checkpoint: Checkpoint = no_checkpoint,
        source_tags: frozenset[str] | None = None,
        manifest: Manifest | None = None,
        fresh: FreshRepository | None = None,
        _depth: int = 0,
    ) -> CopyResult:
        """Copy `source_repository:reference` to `destination_repository`.

        Stored under `tag` when given (by default the reference itself when it
        is a tag), else by digest. `checkpoint` is called before each blob upload
        and manifest PUT, from the blob threads too. `source_tags`, the source
        repository's tags when the caller has just listed them (a project sync),
        is where referrer tags are looked up instead of by a HEAD each. `manifest`:
        the source's manifest for a digest `reference`, when the caller has just
        fetched it (by its tag): not fetched again. `fresh`: the destination
        repository, when it was fresh (`shared.copy.fresh`): nothing is asked about
        there that can't be there. Raises `NotFoundError` when the source has no
        such manifest, what `checkpoint` raises, and the registry client's errors
        otherwise.
        """
        started = time.monotonic()
        opts = options or self.options
        emit = on_event or self.on_event
        if tag is None and not is_digest(reference):
            tag = reference
        src_name = f"{source.host}/{source_repository}{_ref_sep(reference)}{reference}"
        if manifest is None:
            manifest = source.get_manifest(source_repository, reference)
        elif manifest.digest != reference:
            raise ValueError(f"the manifest given is {manifest.digest}, not {reference}")
        target = tag or manifest.digest
        dst_name = f"{destination.host}/{destination_repository}{_ref_sep(target)}{target}"
        stats = TransferStats()
        existing = (None if fresh is not None and not fresh.holds_manifest(target)
                    else destination.head_manifest(destination_repository, target))
        if existing is not None and existing.digest == manifest.digest:
            status, reason = "skipped", "identical at the destination"
        elif existing is not None and not opts.override:
            other = short_digest(existing.digest)
            status, reason = "skipped", f"tag points at {other} and override is off"
        else:
            emit(CopyEvent("log", destination_repository, digest=manifest.digest,
                           message=f"copying {src_name} ({short_digest(manifest.digest)})"))
            blob_copy = BlobCopy(source, source_repository, destination, destination_repository,
                                 opts.chunk_size, emit, stats, self._locator(destination),
                                 checkpoint, fresh)
            self._copy_children(blob_copy, manifest)
            self._put(blob_copy, manifest, target)
            status, reason = "copied", ""
        emit(CopyEvent("log", destination_repository, digest=manifest.digest,
                       message=f"{status} {dst_name}" + (f": {reason}" if reason else "")))
        referrers: tuple[CopyResult, ...] = ()
        if opts.copy_referrers and _depth < MAX_REFERRER_DEPTH:
            referrers = self._copy_referrers(source, source_repository, destination,
                                             destination_repository, manifest.digest,
                                             emit, opts, checkpoint, source_tags, fresh,
                                             _depth)
        return CopyResult(
            source=src_name, destination=dst_name, digest=manifest.digest, status=status,
            reason=reason, bytes_uploaded=stats.bytes_uploaded,
            blobs_uploaded=stats.blobs_uploaded, blobs_mounted=stats.blobs_mounted,
            blobs_present=stats.blobs_present, manifests_put=stats.manifests_put,
            referrers=referrers, seconds=time.monotonic() - started,
        )

    # -- content -----------------------------------------------------------------

    def _copy_children(self, blob_copy: BlobCopy, manifest: Manifest) -> None:
        """Everything `manifest` points at, so that it can be put.

        The children an index lacks at the destination share one batch of blobs
        (they are independent, so their blobs fill the pool together); each
        child is put once every blob is there, before the index itself.
        """
        if not manifest.is_index:
            self._copy_blobs(blob_copy, manifest.blobs)
            return
        src, dst, fresh = blob_copy.source, blob_copy.destination, blob_copy.fresh
        missing = [
            src.get_manifest(blob_copy.source_repository, child.digest)
            for child in manifest.children
            if (not fresh.holds_manifest(child.digest) if fresh is not None
                else dst.head_manifest(blob_copy.destination_repository, child.digest) is None)
        ]
        blobs = {blob.digest: blob for child in missing for blob in child.blobs}
        self._copy_blobs(blob_copy, tuple(blobs.values()))
        for child in missing:
            if child.is_index:  # an index of indexes: rare, its own round
                self._copy_children(blob_copy, child)
            self._put(blob_copy, child, child.digest)

    def _copy_blobs(self, blob_copy: BlobCopy, blobs: tuple[Descriptor, ...]) -> None:
        # Each blob runs in a copy of this context, so the job's write token
        # (`writing_as`) and logging context go with it; one copy per task, as a
        # context can't be entered by two threads at once.
        futures: list[Future[None]] = [
            self._pool.submit(contextvars.copy_context().run, blob_copy.run, b) for b in blobs
        ]
        _done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for future in pending:
            future.cancel()
        wait(pending)
        for future in futures:
            error = None if future.cancelled() else future.exception()
            if error is not None:
                raise error

    def _put(self, blob_copy: BlobCopy, manifest: Manifest, reference: str) -> None:
        """PUT a manifest; on a missing blob, re-check the blobs once (errors table)."""
        dst, repo, fresh = blob_copy.destination, blob_copy.destination_repository, blob_copy.fresh
        blob_copy.checkpoint()
        blob_copy.emit(CopyEvent("put", repo, digest=manifest.digest, reference=reference))
        try:
            dst.put_manifest(repo, reference, manifest)
        except RegistryRejectedError as exc:
            if exc.code not in ("MANIFEST_BLOB_UNKNOWN", "BLOB_UNKNOWN"):
                raise
            blob_copy.emit(CopyEvent("log", repo, level="warning", digest=manifest.digest,
                                     message=f"destination missed content ({exc}); re-checking"))
            blob_copy.locator.forget(repo)
            blob_copy = replace(blob_copy, fresh=None)  # nor what it knew of a fresh one
            self._copy_children(blob_copy, manifest)
            blob_copy.checkpoint()
            dst.put_manifest(repo, reference, manifest)
        if fresh is not None:
            fresh.add_manifest(reference)
        blob_copy.stats.add(manifests_put=1)

    def _locator(self, destination: RegistryClient) -> BlobLocator:
        with self._lock:
            return self._locators.setdefault(destination.host, BlobLocator())

    # -- referrers ---------------------------------------------------------------

    def _copy_referrers(
        self,
        source: RegistryClient,
        source_repository: str,
        destination: RegistryClient,
        destination_repository: str,
        subject: str,
        emit: EventSink,
        opts: CopyOptions,
        checkpoint: Checkpoint,
        source_tags: frozenset[str] | None,
        fresh: FreshRepository | None,
        depth: int,
    ) -> tuple[CopyResult, ...]:
        """Copy what refers to `subject`: by the referrers API where the source
        has one, else by the ``sha256-<hex>`` tag schema and cosign's tags."""
        by_digest, by_tag = find_referrers(source, source_repository, subject,
                                           source_tags=source_tags,
                                           copied_apart=opts.tags_copied_apart)
        results = []
        for reference in [*by_digest, *by_tag]:
            try:
                results.append(self.copy(source, source_repository, reference, destination,
                                         destination_repository, on_event=emit, options=opts,
                                         checkpoint=checkpoint, source_tags=source_tags,
                                         fresh=fresh, _depth=depth + 1))
            except NotFoundError:
                # Deleted at the source since it was found: its delete event follows.
                emit(CopyEvent("log", destination_repository, digest=subject,
                               message=f"referrer {reference} is gone at the source: skipped"))
        return tuple(results)


def find_referrers(
    source: RegistryClient, repository: str, subject: str,
    *, source_tags: frozenset[str] | None = None,
    copied_apart: Callable[[str], bool] | None = None,
) -> tuple[list[str], list[str]]:
    """Digests of manifests referring to `subject`, and tags that hold referrers.

    The referrers API answers when the registry has it (DS §Listing Referrers);
    otherwise the ``sha256-<hex>`` index tag lists them, and cosign keeps its
    signatures, attestations and SBOMs under ``sha256-<hex>.sig|.att|.sbom``,
    except tags `copied_apart` says the caller copies on their own. Those tags are
    looked up in `source_tags` when given, else by a HEAD each.
    """
    found = source.referrers(repository, subject)
    if found is not None:
        return [d.digest for d in found], []
    fallback = subject.replace(":", "-", 1)
    candidates = [tag for tag in (fallback, *(fallback + suffix
                                              for suffix in REFERRER_TAG_SUFFIXES))
                  if copied_apart is None or not copied_apart(tag)]
    if source_tags is not None:
        present = [tag for tag in candidates if tag in source_tags]
    else:
        # A HEAD per candidate tag costs the same whatever the repository's size;
        # listing its tags would cost every copy a walk of all of them.
        present = [tag for tag in candidates
                   if source.head_manifest(repository, tag) is not None]
    digests: list[str] = []
    if fallback in present:
        try:
            index = source.get_manifest(repository, fallback)
        except NotFoundError:  # deleted since the HEAD
            return [], sorted(tag for tag in present if tag != fallback)
        digests = [child.digest for child in index.children]
    return digests, sorted(present)


def _ref_sep(reference: str) -> str:
    return "@" if is_digest(reference) else ":"
