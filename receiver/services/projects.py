"""A source's projects for the console: each with its number of rules and the
status of its last execution.

A project is the first path segment of a repository (DESIGN, data model). A
Distribution source lists them from its catalog (following ``Link`` pages); a
Harbor source from its project API, which needs no catalog rights (protocols.md
§8.1, §11.2). The listing is kept in a `BackgroundCache` per source, refreshed
every `MAX_AGE` seconds, so a source with thousands of repositories lists at
once; rule counts and executions are read from the store on every call. A
source whose credentials may not list it says so (`ListingStatus.FORBIDDEN`);
its rules' projects are shown all the same.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from receiver.services.refresh import BackgroundCache, Snapshot
from shared.errors import (
    AuthenticationError,
    PermanentError,
    PermissionDeniedError,
)
from shared.registry import RegistryClient, RegistryConfig, harbor
from shared.settings import Settings
from shared.store import (
    ExecutionRecord,
    ExecutionStatus,
    RuleRecord,
    SourceKind,
    SourceRecord,
    Store,
)

if TYPE_CHECKING:
    from receiver.services.context import Services

#: Seconds a listing is shown before the registry is asked again.
MAX_AGE = 60.0
#: Seconds before a listing that failed on a transient error is tried again.
RETRY_AFTER = 15.0
#: How long a page waits for a source's very first listing, at most.
FIRST_WAIT = 0.2
#: Registries list in the background: timeouts may be longer than a request's.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
PAGE_SIZE = 50


class ListingStatus(StrEnum):
    OK = "ok"
    LOADING = "loading"  # the first listing is still running
    FORBIDDEN = "forbidden"  # the source's credentials may not list it (401, 403)
    FAILED = "failed"  # the registry refused otherwise (TLS, not a registry, ...)
    UNREACHABLE = "unreachable"  # the last listing failed on a transient error


@dataclass(frozen=True)
class Listing:
    """What one listing of a source found: repositories per project."""

    source_updated_at: datetime  # the source record it was made with
    status: ListingStatus
    projects: Mapping[str, int]
    message: str | None = None


ProjectCache = BackgroundCache[int, Listing]


@dataclass(frozen=True)
class ProjectSummary:
    name: str
    repositories: int | None  # None: not in the listing (a rule's project, empty or unlisted)
    rules: int
    last_execution: ExecutionRecord | None

    @property
    def last_status(self) -> ExecutionStatus | None:
        return self.last_execution.status if self.last_execution else None


@dataclass(frozen=True)
class ProjectPage:
    """One page of a source's projects, by name, as a page shows them."""

    source: SourceRecord
    status: ListingStatus
    message: str | None  # why, when the status is not ok
    items: list[ProjectSummary]
    total: int  # projects that match the search
    offset: int
    limit: int
    listed_at: datetime | None  # when the registry was listed (UTC)
    refreshing: bool

    @property
    def next_offset(self) -> int | None:
        following = self.offset + self.limit
        return following if following < self.total else None


# Pure ------------------------------------------------------------------------------


def project_of(repository: str) -> str:
    return repository.split("/", 1)[0]


def count_projects(repositories: Iterable[str]) -> dict[str, int]:
    """Repositories per project."""
    return dict(Counter(project_of(name) for name in repositories if name))


def summarize(listed: Mapping[str, int], rules: Iterable[RuleRecord],
              latest: Mapping[int, ExecutionRecord]) -> list[ProjectSummary]:
    """The listed projects and those of `rules`, by name, each with its rule count and
    the newest execution of its rules."""
    counted: Counter[str] = Counter()
    newest: dict[str, ExecutionRecord] = {}
    for rule in rules:
        counted[rule.project] += 1
        execution = latest.get(rule.id)
        if execution is not None and (rule.project not in newest
                                      or execution.id > newest[rule.project].id):
            newest[rule.project] = execution
    return [ProjectSummary(name, listed.get(name), counted[name], newest.get(name))
            for name in sorted(set(listed) | set(counted))]


def filter_projects(items: list[ProjectSummary], search: str) -> list[ProjectSummary]:
    """The projects whose name contains `search` (any case)."""
    wanted = search.strip().lower()
    return [item for item in items if wanted in item.name.lower()] if wanted else items


# I/O -------------------------------------------------------------------------------


def list_source(settings: Settings, store: Store, source_id: int) -> Listing:
    """List a source's projects now. A refusal (credentials, TLS, not a registry) is a
    listing that says so; a transient failure raises (`RegistryUnavailableError`), as
    do the store's errors."""
    source = store.get_source(source_id)
    credentials = store.source_credentials(source_id)
    client = RegistryClient(RegistryConfig(
        url=source.url, username=credentials.username, password=credentials.password,
        verify_tls=source.verify_tls, ca_bundle=source.ca_bundle,
        connect_timeout=min(settings.connect_timeout, CONNECT_TIMEOUT),
        read_timeout=min(settings.read_timeout, READ_TIMEOUT), pool_size=1))
    harbor_source = source.kind == SourceKind.HARBOR
    try:
        if harbor_source:
            projects = {p.name: p.repositories for p in harbor.list_projects(client.transport)}
        else:
            projects = count_projects(client.catalog())
    except (AuthenticationError, PermissionDeniedError) as exc:
        what = "its projects (Harbor's project API)" if harbor_source else "its catalog"
        who = credentials.username or "anonymous access"
        return Listing(source.updated_at, ListingStatus.FORBIDDEN, {},
                       f"the source's credentials ({who}) may not list {what}: {exc}")
    except PermanentError as exc:
        return Listing(source.updated_at, ListingStatus.FAILED, {},
                       f"the source could not be listed: {exc}")
    finally:
        client.close()
    return Listing(source.updated_at, ListingStatus.OK, projects)


def new_cache(settings: Settings, store: Store) -> ProjectCache:
    """Each source's listing by source id, refreshed in the background."""
    return BackgroundCache(lambda source_id: list_source(settings, store, source_id),
                           name="projects", max_age=MAX_AGE, retry_after=RETRY_AFTER)


def source_projects(found: Services, source: SourceRecord, *, search: str = "",
                    offset: int = 0, limit: int = PAGE_SIZE,
                    wait: float = FIRST_WAIT) -> ProjectPage:
    """A page of `source`'s projects whose name contains `search`, by name.

    The listing is the cached one (the registry is asked again in the background
    when it is `MAX_AGE` old, or when the source changed since); waits up to `wait`
    seconds for a source's first listing only. Raises the store's errors.
    """
    snapshot = _listing(found, source, wait)
    listing = snapshot.value
    rules = found.store.list_rules(source_id=source.id)
    latest = found.store.latest_executions(rule.id for rule in rules)
    matching = filter_projects(summarize(listing.projects if listing else {}, rules, latest),
                               search)
    status, message = _status(snapshot)
    return ProjectPage(source, status, message, matching[offset:offset + limit],
                       len(matching), offset, limit, snapshot.loaded_at, snapshot.refreshing)


def _listing(found: Services, source: SourceRecord, wait: float) -> Snapshot[Listing]:
    snapshot = found.projects.get(source.id, wait=wait)
    if snapshot.value is not None and snapshot.value.source_updated_at != source.updated_at:
        found.projects.forget(source.id)  # listed with an older URL or credentials
        snapshot = found.projects.get(source.id, wait=wait)
    return snapshot


def _status(snapshot: Snapshot[Listing]) -> tuple[ListingStatus, str | None]:
    if snapshot.error is not None:
        return ListingStatus.UNREACHABLE, f"the source could not be listed: {snapshot.error}"
    if snapshot.value is None:
        return ListingStatus.LOADING, None
    return snapshot.value.status, snapshot.value.message
