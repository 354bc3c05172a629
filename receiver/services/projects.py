"""A source's projects for the console: each with its number of rules and the
status of its last execution, filtered and paged.

The projects come from the source's listing (`listings`: the registry, asked in
the background), merged with the projects of its rules (so a source whose
credentials may not list it still shows those); rule counts and executions are
read from the store on every call.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from receiver.services.listings import Listing, ListingStatus
from receiver.services.refresh import Snapshot
from shared.store import ExecutionRecord, ExecutionStatus, RuleRecord, SourceRecord

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
