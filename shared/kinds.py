"""The named values of crossdock's records (kinds, statuses, actions), as `StrEnum`s.

Kept apart from the store so that code which only needs the names (the CLI,
schemas) doesn't load the database layer. ``JobStatus.FAILED == "failed"``.
"""

from __future__ import annotations

from enum import StrEnum


class SourceKind(StrEnum):
    DISTRIBUTION = "distribution"
    HARBOR = "harbor"


class EndpointKind(StrEnum):
    REGISTRY = "registry"  # any OCI registry
    HARBOR = "harbor"  # also has a project API


class FilterDecision(StrEnum):
    MATCHES = "matches"
    EXCLUDES = "excludes"


class ExecutionTrigger(StrEnum):
    INITIAL = "initial"
    MANUAL = "manual"
    SCHEDULED = "scheduled"


class ExecutionStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PARTIAL = "partial"  # finished, some jobs failed and some did not

    @property
    def finished(self) -> bool:
        """Nothing of the execution runs any more (a page stops polling it)."""
        return self in (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED,
                        ExecutionStatus.PARTIAL)


class JobAction(StrEnum):
    REPLICATE = "replicate"
    DELETE = "delete"
    SYNC = "sync"  # enumerate a project and record one job per image


class JobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.SKIPPED)


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
