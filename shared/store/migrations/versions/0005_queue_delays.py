"""The delays queues were declared with: ``queue_delays``.

Deleting an endpoint deletes its queues, and a retry or defer queue's delay is
part of its name, so every delay ever configured is kept. A store made before it
gets the defaults (retry 30 s, 2 m, 5 m, 10 m; defer 2 s): what a crossdock that
never changed them declared. Earlier non-default values are not known.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

_DEFAULTS = [("retry", 30), ("retry", 120), ("retry", 300), ("retry", 600), ("defer", 2)]


def upgrade() -> None:
    table = op.create_table(
        "queue_delays",
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('retry', 'defer')", name=op.f("ck_queue_delays_kind")),
        sa.PrimaryKeyConstraint("kind", "seconds", name=op.f("pk_queue_delays")),
    )
    op.bulk_insert(table, [{"kind": kind, "seconds": seconds} for kind, seconds in _DEFAULTS])


def downgrade() -> None:
    op.drop_table("queue_delays")
