"""A frozen copy of the tables of crossdock before migrations (revision 0001).

What ``metadata.create_all`` made when the store had no Alembic: the migration
tests build such a database with it and check that a newer crossdock upgrades it
in place. Copied from ``shared/store/schema.py`` as it was then, with the
enumerations written out; never change it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    false,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB


class SourceKind(StrEnum):
    DISTRIBUTION = "distribution"
    HARBOR = "harbor"


class EndpointKind(StrEnum):
    REGISTRY = "registry"
    HARBOR = "harbor"


class ExecutionTrigger(StrEnum):
    INITIAL = "initial"
    MANUAL = "manual"
    SCHEDULED = "scheduled"


class ExecutionStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PARTIAL = "partial"


class JobAction(StrEnum):
    REPLICATE = "replicate"
    DELETE = "delete"
    SYNC = "sync"


class JobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on both backends.

    PostgreSQL keeps ``timestamptz``; SQLite keeps naive UTC text, whose fixed-width
    format compares correctly as text. Naive datetimes are refused on the way in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the store only accepts timezone-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# SQLite only auto-increments an ``INTEGER PRIMARY KEY``.
BigId = BigInteger().with_variant(Integer(), "sqlite")
JsonList = JSON().with_variant(JSONB(), "postgresql")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _one_of(column: str, values: type[StrEnum]) -> CheckConstraint:
    allowed = ", ".join(f"'{member.value}'" for member in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=column)


def _timestamps() -> tuple[Column[datetime], Column[datetime]]:
    return (
        Column("created_at", UTCDateTime(), nullable=False),
        Column("updated_at", UTCDateTime(), nullable=False),
    )


sources = Table(
    "sources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String, nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("url", Text, nullable=False),
    Column("username", String, nullable=True),
    Column("password_enc", Text, nullable=True),
    Column("verify_tls", Boolean, nullable=False, server_default=true()),
    Column("ca_bundle", Text, nullable=True),
    Column("webhook_secret_enc", Text, nullable=True),
    *_timestamps(),
    _one_of("kind", SourceKind),
)

endpoints = Table(
    "endpoints",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String, nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("url", Text, nullable=False),
    Column("username", String, nullable=True),
    Column("password_enc", Text, nullable=True),
    Column("verify_tls", Boolean, nullable=False, server_default=true()),
    Column("ca_bundle", Text, nullable=True),
    *_timestamps(),
    _one_of("kind", EndpointKind),
)

rules = Table(
    "rules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String, nullable=False, unique=True),
    Column("description", Text, nullable=False, server_default=""),
    Column("enabled", Boolean, nullable=False, server_default=true()),
    # No cascade: a source or endpoint used by a rule cannot be deleted.
    Column("source_id", Integer, ForeignKey("sources.id"), nullable=False),
    Column("project", String, nullable=False),
    Column("endpoint_id", Integer, ForeignKey("endpoints.id"), nullable=False),
    Column("repo_filters", JsonList, nullable=False),  # [{"pattern", "decision"}]
    Column("tag_filters", JsonList, nullable=False),
    Column("dest_namespace", String, nullable=True),
    Column("replicate_deletes", Boolean, nullable=False, server_default=true()),
    Column("override", Boolean, nullable=False, server_default=true()),
    Column("copy_referrers", Boolean, nullable=False, server_default=true()),
    Column("schedule", String, nullable=True),
    Column("prune", Boolean, nullable=False, server_default=false()),
    *_timestamps(),
    Index(None, "source_id", "project"),
    Index(None, "endpoint_id"),
)

executions = Table(
    "executions",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("rule_id", Integer, ForeignKey("rules.id", ondelete="CASCADE"), nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("total", Integer, nullable=False, server_default="0"),
    Column("succeeded", Integer, nullable=False, server_default="0"),
    Column("failed", Integer, nullable=False, server_default="0"),
    Column("skipped", Integer, nullable=False, server_default="0"),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime(), nullable=True),
    _one_of("trigger", ExecutionTrigger),
    _one_of("status", ExecutionStatus),
    Index(None, "rule_id", "id"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", BigId, primary_key=True),
    Column(
        "execution_id", BigId, ForeignKey("executions.id", ondelete="CASCADE"), nullable=True
    ),
    Column("rule_id", Integer, ForeignKey("rules.id", ondelete="CASCADE"), nullable=False),
    Column(
        "endpoint_id", Integer, ForeignKey("endpoints.id", ondelete="CASCADE"), nullable=False
    ),
    Column("source_id", Integer, ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
    Column("repository", String, nullable=False),
    Column("tag", String, nullable=True),
    Column("digest", String, nullable=True),
    Column("action", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("error", Text, nullable=True),
    *_timestamps(),
    Column("started_at", UTCDateTime(), nullable=True),
    Column("finished_at", UTCDateTime(), nullable=True),
    _one_of("action", JobAction),
    _one_of("status", JobStatus),
    Index(None, "execution_id", "status"),
    Index(None, "rule_id", "id"),
    Index(None, "endpoint_id", "id"),
    Index(None, "status", "id"),
)

job_logs = Table(
    "job_logs",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("job_id", BigId, ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("level", String(16), nullable=False),
    Column("message", Text, nullable=False),
    _one_of("level", LogLevel),
    Index(None, "job_id", "id"),
)

# The echo record (DESIGN invariant 3): what crossdock itself wrote, and from where.
writes = Table(
    "writes",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("registry", String, nullable=False),  # normalized host[:port] written to
    Column("repository", String, nullable=False),
    Column("tag", String, nullable=True),  # None: written by digest only
    Column("digest", String, nullable=True),  # None: a tag removed with its digest unknown
    Column("action", String(8), nullable=False, server_default="put"),  # put or delete
    Column("origin", String, nullable=False),  # normalized host[:port] copied from
    Column("at", UTCDateTime(), nullable=False),
    Index(None, "registry", "repository", "digest"),
    Index(None, "registry", "repository", "tag"),
    Index(None, "at"),
)

# Cross-process mutual exclusion (DESIGN invariant 4, and the single scheduler).
leases = Table(
    "leases",
    metadata,
    Column("key", String, primary_key=True),
    Column("holder", String, nullable=False),
    Column("acquired_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
)
