"""Convergence: job plans, registry links, two-way pairs, sync bases, inventory.

Adds ``jobs.plan`` and the index that finds the newest job for a tag; creates
``registry_links``, ``pair_preferences``, ``sync_bases`` and ``inventory``; drops
``writes`` (the echo record by time window, replaced by exact identification of
crossdock's own writes). No batch mode: SQLite adds a nullable column, creates
and drops tables and indexes in place.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON_LIST = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("jobs", sa.Column("plan", JSON_LIST, nullable=True))
    op.create_index(op.f("ix_jobs_rule_id_repository_tag_id"), "jobs",
                    ["rule_id", "repository", "tag", "id"])
    op.create_table(
        "registry_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("harbor_account", sa.String(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], ondelete="CASCADE",
                                name=op.f("fk_registry_links_source_id_sources")),
        sa.ForeignKeyConstraint(["endpoint_id"], ["endpoints.id"], ondelete="CASCADE",
                                name=op.f("fk_registry_links_endpoint_id_endpoints")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_links")),
        sa.UniqueConstraint("source_id", name=op.f("uq_registry_links_source_id")),
        sa.UniqueConstraint("endpoint_id", name=op.f("uq_registry_links_endpoint_id")),
    )
    op.create_table(
        "pair_preferences",
        sa.Column("first_rule_id", sa.Integer(), nullable=False),
        sa.Column("second_rule_id", sa.Integer(), nullable=False),
        sa.Column("preferred_rule_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["first_rule_id"], ["rules.id"], ondelete="CASCADE",
                                name=op.f("fk_pair_preferences_first_rule_id_rules")),
        sa.ForeignKeyConstraint(["second_rule_id"], ["rules.id"], ondelete="CASCADE",
                                name=op.f("fk_pair_preferences_second_rule_id_rules")),
        sa.PrimaryKeyConstraint("first_rule_id", "second_rule_id",
                                name=op.f("pk_pair_preferences")),
    )
    op.create_table(
        "sync_bases",
        sa.Column("first_rule_id", sa.Integer(), nullable=False),
        sa.Column("second_rule_id", sa.Integer(), nullable=False),
        sa.Column("repository", sa.String(), nullable=False),
        sa.Column("tag", sa.String(), nullable=False),
        sa.Column("digest", sa.String(), nullable=True),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["first_rule_id"], ["rules.id"], ondelete="CASCADE",
                                name=op.f("fk_sync_bases_first_rule_id_rules")),
        sa.ForeignKeyConstraint(["second_rule_id"], ["rules.id"], ondelete="CASCADE",
                                name=op.f("fk_sync_bases_second_rule_id_rules")),
        sa.PrimaryKeyConstraint("first_rule_id", "second_rule_id", "repository", "tag",
                                name=op.f("pk_sync_bases")),
    )
    op.create_table(
        "inventory",
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("repository", sa.String(), nullable=False),
        sa.Column("tag", sa.String(), nullable=False),
        sa.Column("source_repository", sa.String(), nullable=False),
        sa.Column("digest", sa.String(), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["rule_id"], ["rules.id"], ondelete="CASCADE",
                                name=op.f("fk_inventory_rule_id_rules")),
        sa.PrimaryKeyConstraint("rule_id", "repository", "tag", name=op.f("pk_inventory")),
    )
    op.drop_index(op.f("ix_writes_at"), table_name="writes")
    op.drop_index(op.f("ix_writes_registry_repository_tag"), table_name="writes")
    op.drop_index(op.f("ix_writes_registry_repository_digest"), table_name="writes")
    op.drop_table("writes")


def downgrade() -> None:
    """Back to 0001. The echo records are gone for good: ``writes`` comes back empty."""
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
    for table in ("inventory", "sync_bases", "pair_preferences", "registry_links"):
        op.drop_table(table)
    op.drop_index(op.f("ix_jobs_rule_id_repository_tag_id"), table_name="jobs")
    # SQLite 3.35+ drops an unindexed column in place; the batch mode's copy of
    # ``jobs`` would cascade-delete the job logs.
    op.drop_column("jobs", "plan")
