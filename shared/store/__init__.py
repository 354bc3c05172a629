"""The store: configuration, jobs, two-way sync state and coordination in SQLite or
PostgreSQL, its schema versioned by Alembic (`shared.store.migrate`).

The only package that imports SQLAlchemy (Core, not the ORM). Open one with
`open_store(settings)`; everything else goes through `Store` methods, which
return the frozen records below and raise only crossdock errors.
"""

from shared.store.base import UNSET, Unset
from shared.store.coordination import (
    SCHEDULER_LEASE_KEY,
    failed_queue_lease_key,
    normalize_registry,
    repository_lease_key,
)
from shared.store.delays import remember_queue_delays
from shared.store.errors import (
    ConflictError,
    RecordNotFoundError,
    StoreError,
    StoreUnavailableError,
)
from shared.store.jobsetting import JobSetting
from shared.store.location import (
    LegacyStoreError,
    StoreLocation,
    StoreNotFoundError,
    locate_store,
    prepare_location,
)
from shared.store.migrate import (
    current_revision,
    database_revision,
    head_revision,
    upgrade_database,
    upgrade_schema,
)
from shared.store.records import (
    BaseRecord,
    Credentials,
    EndpointKind,
    EndpointRecord,
    ExecutionRecord,
    ExecutionStatus,
    ExecutionTrigger,
    FilterDecision,
    InventoryEntry,
    JobAction,
    JobLogRecord,
    JobRecord,
    JobStatus,
    LinkRecord,
    LogLevel,
    NewJob,
    NewLogLine,
    PairRecord,
    QueueDelays,
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
    "BaseRecord",
    "ConflictError",
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
    "JobSetting",
    "JobStatus",
    "LegacyStoreError",
    "LinkRecord",
    "LogLevel",
    "NewJob",
    "NewLogLine",
    "PairRecord",
    "QueueDelays",
    "RecordNotFoundError",
    "RuleFilter",
    "RuleRecord",
    "SecretBox",
    "SourceKind",
    "SourceRecord",
    "Store",
    "StoreError",
    "StoreLocation",
    "StoreNotFoundError",
    "StoreUnavailableError",
    "Unset",
    "current_revision",
    "database_revision",
    "failed_queue_lease_key",
    "generate_secret_key",
    "head_revision",
    "locate_store",
    "normalize_registry",
    "open_store",
    "prepare_location",
    "remember_queue_delays",
    "repository_lease_key",
    "upgrade_database",
    "upgrade_schema",
]
