"""The store: configuration, jobs and coordination in SQLite or PostgreSQL.

The only package that imports SQLAlchemy (Core, not the ORM). Open one with
`open_store(settings)`; everything else goes through `Store` methods, which
return the frozen records below and raise only crossdock errors.
"""

from shared.store.base import UNSET, Unset
from shared.store.coordination import (
    SCHEDULER_LEASE_KEY,
    normalize_registry,
    repository_lease_key,
)
from shared.store.errors import (
    ConflictError,
    RecordNotFoundError,
    StoreError,
    StoreUnavailableError,
)
from shared.store.records import (
    Credentials,
    EndpointKind,
    EndpointRecord,
    ExecutionRecord,
    ExecutionStatus,
    ExecutionTrigger,
    FilterDecision,
    JobAction,
    JobLogRecord,
    JobRecord,
    JobStatus,
    LogLevel,
    NewJob,
    RuleFilter,
    RuleRecord,
    SourceKind,
    SourceRecord,
)
from shared.store.secrets import SecretBox, generate_secret_key
from shared.store.store import Store, open_store

__all__ = [
    "SCHEDULER_LEASE_KEY",
    "UNSET",
    "ConflictError",
    "Credentials",
    "EndpointKind",
    "EndpointRecord",
    "ExecutionRecord",
    "ExecutionStatus",
    "ExecutionTrigger",
    "FilterDecision",
    "JobAction",
    "JobLogRecord",
    "JobRecord",
    "JobStatus",
    "LogLevel",
    "NewJob",
    "RecordNotFoundError",
    "RuleFilter",
    "RuleRecord",
    "SecretBox",
    "SourceKind",
    "SourceRecord",
    "Store",
    "StoreError",
    "StoreUnavailableError",
    "Unset",
    "generate_secret_key",
    "normalize_registry",
    "open_store",
    "repository_lease_key",
]
