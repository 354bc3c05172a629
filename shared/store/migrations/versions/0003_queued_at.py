"""Jobs record when their publish was confirmed: ``jobs.queued_at``.

A pending job without one, long after it was recorded, lost its publish (a receiver
killed in between) and is published again by the receiver's sweeper. The jobs
already there are taken as queued (``queued_at = created_at``): the store cannot
tell, and a store upgraded with a backlog of waiting jobs would otherwise have
every one of them published twice. No batch mode: SQLite adds a nullable column
in place.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("jobs", sa.Column("queued_at", UTC_DATETIME, nullable=True))
    op.execute("UPDATE jobs SET queued_at = created_at")


def downgrade() -> None:
    """Back to 0002. SQLite 3.35+ drops an unindexed column in place; the batch mode's
    copy of ``jobs`` would cascade-delete the job logs."""
    op.drop_column("jobs", "queued_at")
