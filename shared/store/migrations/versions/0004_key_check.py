"""The secret key's check: ``key_check``.

One row holding a known text sealed with the store's secret key, so that a process
started with another key is refused on start instead of failing every job. The
migration cannot know the key: the first process that opens the store with one
records it (`shared.store.keycheck`), once that key opens the secrets already stored.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "key_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_check")),
    )


def downgrade() -> None:
    op.drop_table("key_check")
