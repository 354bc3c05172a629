"""What the store returns: frozen dataclasses, and the enumerations of its columns.

Records never carry a secret: `SourceRecord` and `EndpointRecord` say whether a
password is set (``has_password``), and the plaintext is only available through
`Store.source_credentials` / `Store.endpoint_credentials`. Every enumeration is a
`StrEnum`, so ``JobStatus.FAILED == "failed"`` and plain strings are accepted as input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from shared.kinds import (
    EndpointKind,
    ExecutionStatus,
    ExecutionTrigger,
    FilterDecision,
    JobAction,
    JobStatus,
    LogLevel,
    SourceKind,
)


class DelayQueueKind(StrEnum):
    """The broker queues whose names carry a delay (`shared.queues`)."""

    RETRY = "retry"
    DEFER = "defer"


@dataclass(frozen=True)
class QueueDelays:
    """Every delay crossdock's processes have declared queues with, shortest first."""

    retry: tuple[int, ...] = ()
    defer: tuple[int, ...] = ()


@dataclass(frozen=True)
class RuleFilter:
    """A Harbor-style glob on repository or tag names, kept or dropped."""

    pattern: str
    decision: FilterDecision = FilterDecision.MATCHES


@dataclass(frozen=True)
class Credentials:
    """Decrypted credentials. The password stays out of ``repr``."""

    username: str | None
    password: str | None = field(repr=False)


@dataclass(frozen=True)
class SourceRecord:
    id: int
    name: str
    kind: SourceKind
    url: str
    username: str | None
    has_password: bool
    verify_tls: bool
    ca_bundle: str | None
    has_webhook_secret: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class EndpointRecord:
    id: int
    name: str
    kind: EndpointKind
    url: str
    username: str | None
    has_password: bool
    verify_tls: bool
    ca_bundle: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class RuleRecord:
    id: int
    name: str
    description: str
    enabled: bool
    source_id: int
    project: str
    endpoint_id: int
    repo_filters: tuple[RuleFilter, ...]
    tag_filters: tuple[RuleFilter, ...]
    dest_namespace: str | None  # None: the same project name on the endpoint
    replicate_deletes: bool
    override: bool
    copy_referrers: bool
    schedule: str | None  # cron expression for a periodic resync
    prune: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ExecutionRecord:
    """One run of a rule. Counts cover the image jobs (replicate, delete), not the
    sync job that enumerated them; the status covers every job."""

    id: int
    rule_id: int
    trigger: ExecutionTrigger
    status: ExecutionStatus
    total: int
    succeeded: int
    failed: int
    skipped: int
    started_at: datetime
    finished_at: datetime | None

    @property
    def in_progress(self) -> int:
        """Image jobs not finished yet."""
        return self.total - self.succeeded - self.failed - self.skipped


@dataclass(frozen=True)
class NewJob:
    """What `Store.create_jobs` needs to record one job."""

    rule_id: int
    endpoint_id: int
    source_id: int
    repository: str
    action: JobAction | str
    tag: str | None = None
    digest: str | None = None
    execution_id: int | None = None


@dataclass(frozen=True)
class JobRecord:
    id: int
    execution_id: int | None
    rule_id: int
    endpoint_id: int
    source_id: int
    repository: str
    tag: str | None
    digest: str | None
    action: JobAction
    status: JobStatus
    attempts: int
    error: str | None  # the last error, kept while the job is retried
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None  # the first attempt
    finished_at: datetime | None
    plan: dict[str, Any] | None = None  # recorded before a destructive step (see schema)
    queued_at: datetime | None = None  # RabbitMQ confirmed its message (None: not yet)


@dataclass(frozen=True)
class LinkRecord:
    """Source `source_id` and endpoint `endpoint_id` are one registry."""

    id: int
    source_id: int
    endpoint_id: int
    harbor_account: str | None  # the account crossdock writes with, on a Harbor registry
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class PairRecord:
    """Two opposite rules over linked registries: two-way sync of one project.

    `first` is the rule with the lower id. `preferred_rule_id` names the rule whose
    source wins a conflict (by default `first`'s).
    """

    first: RuleRecord
    second: RuleRecord
    preferred_rule_id: int
    preference_set: bool  # chosen by an operator, not the default

    @property
    def key(self) -> str:
        return f"{self.first.id}-{self.second.id}"

    def other(self, rule_id: int) -> RuleRecord:
        return self.second if rule_id == self.first.id else self.first


@dataclass(frozen=True)
class BaseRecord:
    """The last digest both sides of a pair held for a tag (None: absent on both)."""

    repository: str  # named as at the first rule's source
    tag: str
    digest: str | None
    updated_at: datetime


@dataclass(frozen=True)
class InventoryEntry:
    """A tag a rule wrote at its endpoint and answers for."""

    rule_id: int
    repository: str  # at the endpoint
    tag: str
    source_repository: str
    digest: str
    updated_at: datetime


@dataclass(frozen=True)
class JobLogRecord:
    id: int
    job_id: int
    at: datetime
    level: LogLevel
    message: str


@dataclass(frozen=True)
class NewLogLine:
    """A job's log line kept back to be written with others: ``at`` is when it was said."""

    job_id: int
    at: datetime
    level: LogLevel
    message: str


__all__ = [
    "BaseRecord",
    "Credentials",
    "EndpointKind",
    "EndpointRecord",
    "ExecutionRecord",
    "ExecutionStatus",
    "ExecutionTrigger",
    "FilterDecision",
    "InventoryEntry",
    "JobAction",
    "JobLogRecord",
    "JobRecord",
    "JobStatus",
    "LinkRecord",
    "LogLevel",
    "NewJob",
    "NewLogLine",
    "PairRecord",
    "RuleFilter",
    "RuleRecord",
    "SourceKind",
    "SourceRecord",
]
