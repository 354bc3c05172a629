"""A source's projects for the console: each with its number of rules and the
status of its last execution, filtered and paged.

The projects come from the source's listing (`listings`: the registry, asked in
the background), merged with the projects of its rules (so a source whose
credentials may not list it still shows those); rule counts and executions are
read from the store on every call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from receiver.services.listings import Listing, ListingStatus
from receiver.services.refresh import Snapshot
from shared.store import ExecutionRecord, ExecutionStatus, SourceRecord

if TYPE_CHECKING:
    from receiver.services.context import Services

#: How long a page waits for a source's very first listing, at most.
FIRST_WAIT = 0.2
PAGE_SIZE = 50


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


def filter_names(names: list[str], search: str) -> list[str]:
    """The names that contain `search` (any case), in their order."""
    wanted = search.strip().lower()
    return [name for name in names if wanted in name.lower()] if wanted else names


def source_projects(found: Services, source: SourceRecord, *, search: str = "",
                    offset: int = 0, limit: int = PAGE_SIZE,
                    wait: float = FIRST_WAIT) -> ProjectPage:
    """A page of `source`'s projects whose name contains `search`, by name.

    The listing is the cached one (the registry is asked again in the background
    when it is `listings.MAX_AGE` old, or when the source changed since); waits up
    to `wait` seconds for a source's first listing only. `offset` >= 0 and `limit`
    >= 1 come validated. Raises the store's errors.
    """
    snapshot = _listing(found, source, wait)
    listing = snapshot.value
    listed = listing.projects if listing else {}
    ruled = found.store.project_summaries(source.id)  # counts in SQL: no rule is loaded
    names = filter_names(sorted(set(listed) | set(ruled)), search)
    shown = names[offset:offset + limit]
    newest = found.store.executions_by_id(
        latest for name in shown if (latest := ruled.get(name, (0, None))[1]) is not None)
    items = [ProjectSummary(name, listed.get(name), ruled.get(name, (0, None))[0],
                            newest.get(ruled.get(name, (0, None))[1] or 0))
             for name in shown]
    status, message = _status(snapshot)
    return ProjectPage(source, status, message, items, len(names), offset, limit,
                       snapshot.loaded_at, snapshot.refreshing)


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
