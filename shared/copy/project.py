"""Copy a whole project: every tag of every repository under ``project/``.

A project is the first path segment of a repository name (DESIGN.md). Images
copy in parallel; one failed image doesn't stop the others.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

import structlog

from shared.copy.engine import CopyEngine, CopyResult
from shared.copy.fresh import FreshRepository, Presence
from shared.errors import CrossdockError
from shared.registry import RegistryClient

log = structlog.get_logger(__name__)

# Names read at most from the destination's catalog, one request per thousand. A
# larger registry is asked about each repository of the project instead.
CATALOG_NAMES_MAX = 10_000


@dataclass(frozen=True)
class ImageOutcome:
    """One image of a sync: its result, or the error that stopped it."""

    source_repository: str
    destination_repository: str
    tag: str
    result: CopyResult | None = None
    error: str | None = None


@dataclass
class SyncSummary:
    """Images copied / skipped / failed, bytes and time of one sync."""

    copied: int = 0
    skipped: int = 0
    failed: int = 0
    bytes_uploaded: int = 0
    seconds: float = 0.0
    failures: list[ImageOutcome] = field(default_factory=list)

    @property
    def images(self) -> int:
        return self.copied + self.skipped + self.failed

    @property
    def mib_per_second(self) -> float:
        return self.bytes_uploaded / 1048576 / self.seconds if self.seconds > 0 else 0.0

    def add(self, outcome: ImageOutcome) -> None:
        if outcome.result is None:
            self.failed += 1
            self.failures.append(outcome)
            return
        if outcome.result.status == "copied":
            self.copied += 1
        else:
            self.skipped += 1
        self.bytes_uploaded += outcome.result.total_bytes_uploaded

    def as_dict(self) -> dict[str, object]:
        return {
            "images": self.images,
            "copied": self.copied,
            "skipped": self.skipped,
            "failed": self.failed,
            "bytes": self.bytes_uploaded,
            "seconds": round(self.seconds, 3),
            "mib_per_second": round(self.mib_per_second, 2),
            "failures": [
                {"image": f"{f.source_repository}:{f.tag}", "error": f.error}
                for f in self.failures
            ],
        }


def in_project(repository: str, project: str) -> bool:
    """Whether `repository` is under ``project/``, or is the project itself."""
    return repository == project or repository.startswith(project.rstrip("/") + "/")


def project_repositories(source: RegistryClient, project: str) -> list[str]:
    """Repositories under ``project/`` (or the project itself as a repository)."""
    return sorted(name for name in source.catalog() if in_project(name, project))


def map_repository(repository: str, project: str, namespace: str) -> str:
    """``project/rest`` in the source becomes ``namespace/rest`` at the destination."""
    if repository == project:
        return namespace
    return namespace + repository[len(project):]


@dataclass(frozen=True)
class ProjectImage:
    """One tag of a project to copy, with every tag its repository had when listed."""

    source_repository: str
    destination_repository: str
    tag: str
    repository_tags: frozenset[str]


def project_images(source: RegistryClient, project: str, namespace: str) -> Iterator[ProjectImage]:
    """Every tag in the project, repository by repository."""
    for repository in project_repositories(source, project):
        tags = source.tags(repository)
        destination = map_repository(repository, project, namespace)
        every_tag = frozenset(tags)  # one set per repository, shared by its images
        for tag in tags:
            yield ProjectImage(repository, destination, tag, every_tag)


def destination_repositories(destination: RegistryClient, namespace: str,
                             names_max: int = CATALOG_NAMES_MAX) -> frozenset[str] | None:
    """The destination's repositories under ``namespace/`` (or the namespace itself),
    from its catalog; None when it has no catalog we may read, or a larger one than
    `names_max` names."""
    found: set[str] = set()
    try:
        for count, name in enumerate(destination.catalog(), start=1):
            if count > names_max:
                log.debug("destination catalog too large to read", names_max=names_max)
                return None
            if in_project(name, namespace):
                found.add(name)
    except CrossdockError as exc:  # no catalog (Harbor without admin rights, say)
        log.debug("destination catalog not read", error=str(exc))
        return None
    return frozenset(found)


class DestinationPresence:
    """What a project sync knows of its destination's repositories before writing.

    A repository the catalog (read once, while the source is listed) doesn't list
    is empty; one it lists has content. Without a catalog, each repository is asked
    about with a one-tag listing, as a consumer does.
    """

    def __init__(self, destination: RegistryClient,
                 catalog: Future[frozenset[str] | None]) -> None:
        self._destination = destination
        self._catalog = catalog

    def __call__(self, repository: str) -> Presence:
        names = self._catalog.result()
        if names is None:
            return Presence.from_exists(self._destination.repository_exists(repository))
        return Presence.PRESENT if repository in names else Presence.EMPTY


def sync_project(
    engine: CopyEngine,
    source: RegistryClient,
    project: str,
    destination: RegistryClient,
    namespace: str | None = None,
    *,
    image_workers: int = 4,
    on_image: Callable[[ImageOutcome], None] | None = None,
    on_listed: Callable[[int], None] | None = None,
) -> SyncSummary:
    """Copy every image of `project` to `namespace` (default: the same name).

    Images start copying while the rest of the project is still being listed.
    Listing errors raise (once the copies under way have ended; those not
    started are dropped); an image that fails is counted and reported.
    """
    started = time.monotonic()
    summary = SyncSummary()
    fresh: dict[str, FreshRepository] = {}  # destination repository -> what the sync put
    lock = threading.Lock()

    def copy_one(item: ProjectImage) -> ImageOutcome:
        src_repo, dst_repo, tag = item.source_repository, item.destination_repository, item.tag
        try:
            # The sync is the one writer of each destination repository: where the
            # destination had none, nothing there needs asking about.
            with lock:
                record = fresh.setdefault(dst_repo, FreshRepository())
            is_fresh = record.settle(lambda: presence(dst_repo))
            # The listing's tags stand in for a HEAD per possible referrer tag.
            result = engine.copy(source, src_repo, tag, destination, dst_repo,
                                 source_tags=item.repository_tags,
                                 fresh=record if is_fresh else None)
        except CrossdockError as exc:
            return ImageOutcome(src_repo, dst_repo, tag, error=str(exc))
        return ImageOutcome(src_repo, dst_repo, tag, result=result)

    with ThreadPoolExecutor(image_workers, thread_name_prefix="image") as pool:
        # Read first, while the source is listed: the images wait for it.
        presence = DestinationPresence(destination, pool.submit(
            destination_repositories, destination, namespace or project))
        # Each image copies in a copy of this context (write token, logging context).
        futures = []
        try:
            for item in project_images(source, project, namespace or project):
                futures.append(pool.submit(contextvars.copy_context().run, copy_one, item))
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
        if on_listed is not None:
            on_listed(len(futures))
        for future in as_completed(futures):
            outcome = future.result()
            summary.add(outcome)
            if on_image is not None:
                on_image(outcome)
    summary.seconds = time.monotonic() - started
    return summary
