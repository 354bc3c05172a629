"""The schema before Alembic: every table as ``metadata.create_all`` made it.

A database made then has these tables and no ``alembic_version``: it is stamped
with this revision, not created by it (see `shared.store.migrate`). Names follow
the naming convention of `shared.store.schema`; types, enumerations and names
are written out, frozen (CHECK names through ``op.f``, or the convention, which
Alembic applies from the schema's metadata, would prefix them again), so that
later changes to the schema module do not alter this revision.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_LIST = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

_TABLES = ("leases", "writes", "job_logs", "jobs", "executions", "rules", "endpoints",
           "sources")  # in an order that can be dropped


def _timestamps() -> tuple[sa.Column[datetime], sa.Column[datetime]]:
    return (
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
    )


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("username", sa.String(), nullable=True),
        sa.Column("password_enc", sa.Text(), nullable=True),
        sa.Column("verify_tls", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("ca_bundle", sa.Text(), nullable=True),
        sa.Column("webhook_secret_enc", sa.Text(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint("kind IN ('distribution', 'harbor')", name=op.f("ck_sources_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
        sa.UniqueConstraint("name", name=op.f("uq_sources_name")),
    )
    op.create_table(
        "endpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("username", sa.String(), nullable=True),
        sa.Column("password_enc", sa.Text(), nullable=True),
        sa.Column("verify_tls", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("ca_bundle", sa.Text(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint("kind IN ('registry', 'harbor')", name=op.f("ck_endpoints_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_endpoints")),
        sa.UniqueConstraint("name", name=op.f("uq_endpoints_name")),
    )
    op.create_table(
        "rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("project", sa.String(), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("repo_filters", JSON_LIST, nullable=False),
        sa.Column("tag_filters", JSON_LIST, nullable=False),
        sa.Column("dest_namespace", sa.String(), nullable=True),
        sa.Column("replicate_deletes", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("override", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("copy_referrers", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("schedule", sa.String(), nullable=True),
        sa.Column("prune", sa.Boolean(), nullable=False, server_default=sa.false()),
        *_timestamps(),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"],
                                name=op.f("fk_rules_source_id_sources")),
        sa.ForeignKeyConstraint(["endpoint_id"], ["endpoints.id"],
                                name=op.f("fk_rules_endpoint_id_endpoints")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_rules_name")),
    )
    op.create_index(op.f("ix_rules_source_id_project"), "rules", ["source_id", "project"])
    op.create_index(op.f("ix_rules_endpoint_id"), "rules", ["endpoint_id"])
    op.create_table(
        "executions",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("succeeded", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("failed", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("skipped", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("started_at", UTC_DATETIME, nullable=False),
        sa.Column("finished_at", UTC_DATETIME, nullable=True),
        sa.CheckConstraint("trigger IN ('initial', 'manual', 'scheduled')",
                           name=op.f("ck_executions_trigger")),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'succeeded', 'failed', 'partial')",
            name=op.f("ck_executions_status"),
        ),
        sa.ForeignKeyConstraint(["rule_id"], ["rules.id"], ondelete="CASCADE",
                                name=op.f("fk_executions_rule_id_rules")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_executions")),
    )
    op.create_index(op.f("ix_executions_rule_id_id"), "executions", ["rule_id", "id"])
    op.create_table(
        "jobs",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("execution_id", BIG_ID, nullable=True),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("repository", sa.String(), nullable=False),
        sa.Column("tag", sa.String(), nullable=True),
        sa.Column("digest", sa.String(), nullable=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("error", sa.Text(), nullable=True),
        *_timestamps(),
        sa.Column("started_at", UTC_DATETIME, nullable=True),
        sa.Column("finished_at", UTC_DATETIME, nullable=True),
        sa.CheckConstraint("action IN ('replicate', 'delete', 'sync')",
                           name=op.f("ck_jobs_action")),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'retrying', 'succeeded', 'failed', 'skipped')",
            name=op.f("ck_jobs_status"),
        ),
        sa.ForeignKeyConstraint(["execution_id"], ["executions.id"], ondelete="CASCADE",
                                name=op.f("fk_jobs_execution_id_executions")),
        sa.ForeignKeyConstraint(["rule_id"], ["rules.id"], ondelete="CASCADE",
                                name=op.f("fk_jobs_rule_id_rules")),
        sa.ForeignKeyConstraint(["endpoint_id"], ["endpoints.id"], ondelete="CASCADE",
                                name=op.f("fk_jobs_endpoint_id_endpoints")),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], ondelete="CASCADE",
                                name=op.f("fk_jobs_source_id_sources")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index(op.f("ix_jobs_execution_id_status"), "jobs", ["execution_id", "status"])
    op.create_index(op.f("ix_jobs_rule_id_id"), "jobs", ["rule_id", "id"])
    op.create_index(op.f("ix_jobs_endpoint_id_id"), "jobs", ["endpoint_id", "id"])
    op.create_index(op.f("ix_jobs_status_id"), "jobs", ["status", "id"])
    op.create_table(
        "job_logs",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("job_id", BIG_ID, nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.CheckConstraint("level IN ('debug', 'info', 'warning', 'error')",
                           name=op.f("ck_job_logs_level")),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE",
                                name=op.f("fk_job_logs_job_id_jobs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_logs")),
    )
    op.create_index(op.f("ix_job_logs_job_id_id"), "job_logs", ["job_id", "id"])
    op.create_table(
        "writes",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("registry", sa.String(), nullable=False),
        sa.Column("repository", sa.String(), nullable=False),
        sa.Column("tag", sa.String(), nullable=True),
        sa.Column("digest", sa.String(), nullable=True),
        sa.Column("action", sa.String(8), nullable=False, server_default="put"),
        sa.Column("origin", sa.String(), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_writes")),
    )
    op.create_index(op.f("ix_writes_registry_repository_digest"), "writes",
                    ["registry", "repository", "digest"])
    op.create_index(op.f("ix_writes_registry_repository_tag"), "writes",
                    ["registry", "repository", "tag"])
    op.create_index(op.f("ix_writes_at"), "writes", ["at"])
    op.create_table(
        "leases",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("holder", sa.String(), nullable=False),
        sa.Column("acquired_at", UTC_DATETIME, nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_leases")),
    )


def downgrade() -> None:
    for table in _TABLES:
        op.drop_table(table)
