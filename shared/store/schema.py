"""Table definitions (SQLAlchemy Core), shared by SQLite and PostgreSQL.

The schema is versioned by Alembic (`shared/store/migrations/`): a store opened
by a newer crossdock is upgraded in place (see `shared.store.migrate`). A change
to this module needs a new migration that makes the same change.

Timestamps are stored in UTC (`UTCDateTime`); enumerated columns are strings with
a CHECK constraint listing `shared.store.records` values; deleting a rule deletes
its executions, jobs and job logs.
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

from shared.store.records import (
    DelayQueueKind,
    EndpointKind,
    ExecutionStatus,
    ExecutionTrigger,
    JobAction,
    JobStatus,
    LogLevel,
    SourceKind,
)


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
    # Counters of every job, the sync job too, that each job transition moves in its
    # own transaction (see `shared.store.executions`): with the image counts above
    # they give the status without counting the jobs again.
    Column("jobs_total", Integer, nullable=False, server_default="0"),
    Column("jobs_unfinished", Integer, nullable=False, server_default="0"),
    Column("jobs_started", Integer, nullable=False, server_default="0"),
    Column("jobs_failed", Integer, nullable=False, server_default="0"),
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
    # What a destructive job will do, recorded before its first destructive step so
    # that every retry finishes it (a tag delete on Distribution 2.8: the digest and
    # the sibling tags to put back).
    Column("plan", JsonList, nullable=True),
    # When RabbitMQ confirmed the job's message (None: not yet). A pending job without
    # one long after it was recorded lost its publish: the sweeper sends it again.
    Column("queued_at", UTCDateTime(), nullable=True),
    _one_of("action", JobAction),
    _one_of("status", JobStatus),
    # An execution's jobs page by key (newest first), all or of one status.
    Index(None, "execution_id", "id"),
    Index(None, "execution_id", "status", "id"),
    Index(None, "rule_id", "id"),
    Index(None, "endpoint_id", "id"),
    Index(None, "status", "id"),
    Index(None, "rule_id", "repository", "tag", "id"),  # the newest job for a tag
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

# Cross-process mutual exclusion (DESIGN invariant 4, and the single scheduler).
leases = Table(
    "leases",
    metadata,
    Column("key", String, primary_key=True),
    Column("holder", String, nullable=False),
    Column("acquired_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
)

# A registry known to crossdock both as a source and as an endpoint (DESIGN
# invariant 3): what makes two opposite rules a two-way pair, and what tells which
# rule would copy a write back to its origin.
registry_links = Table(
    "registry_links",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", Integer, ForeignKey("sources.id", ondelete="CASCADE"), nullable=False,
           unique=True),
    Column("endpoint_id", Integer, ForeignKey("endpoints.id", ondelete="CASCADE"),
           nullable=False, unique=True),
    # Harbor names only an account in its events (`operator`): the account crossdock
    # writes into this registry with, so that its writes are known there.
    Column("harbor_account", String, nullable=True),
    *_timestamps(),
)

# The side that wins a conflict in a two-way pair, when an operator chose one (the
# default is the source of the pair's first rule, the one with the lower id).
pair_preferences = Table(
    "pair_preferences",
    metadata,
    Column("first_rule_id", Integer, ForeignKey("rules.id", ondelete="CASCADE"),
           primary_key=True),
    Column("second_rule_id", Integer, ForeignKey("rules.id", ondelete="CASCADE"),
           primary_key=True),
    Column("preferred_rule_id", Integer, nullable=False),  # whose source wins
    Column("updated_at", UTCDateTime(), nullable=False),
)

# The base of a two-way pair: the last digest both sides held for a tag (None: the
# tag was absent on both), named as at the first rule's source.
sync_bases = Table(
    "sync_bases",
    metadata,
    Column("first_rule_id", Integer, ForeignKey("rules.id", ondelete="CASCADE"),
           primary_key=True),
    Column("second_rule_id", Integer, ForeignKey("rules.id", ondelete="CASCADE"),
           primary_key=True),
    Column("repository", String, primary_key=True),
    Column("tag", String, primary_key=True),
    Column("digest", String, nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# What each rule wrote at its endpoint and still answers for (DESIGN, case 7 of the
# convergence work): deletes made at the source while the rule was off are applied
# from it, and only while the endpoint's tag still holds what crossdock put there.
inventory = Table(
    "inventory",
    metadata,
    Column("rule_id", Integer, ForeignKey("rules.id", ondelete="CASCADE"), primary_key=True),
    Column("repository", String, primary_key=True),  # at the endpoint
    Column("tag", String, primary_key=True),
    Column("source_repository", String, nullable=False),
    Column("digest", String, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# What tells whether the configured secret key is this store's: a known text sealed with
# it (one row). Recorded when a store first opens with a key; checked by every process
# on start (`shared.store.keycheck`).
key_check = Table(
    "key_check",
    metadata,
    Column("id", Integer, primary_key=True),  # always 1
    Column("token", Text, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# The delays crossdock's processes have declared retry and defer queues with (the
# `retry_delays` and `defer_seconds` of every process, over time). A delay is part
# of its queue's name, so this is how deleting an endpoint finds all of its queues.
queue_delays = Table(
    "queue_delays",
    metadata,
    Column("kind", String, primary_key=True),
    Column("seconds", Integer, primary_key=True),
    _one_of("kind", DelayQueueKind),
)
