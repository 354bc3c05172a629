"""An execution's jobs page by key: ``ix_jobs_execution_id_id`` and
``ix_jobs_execution_id_status_id``.

The jobs list of one execution, newest first (``before=<id>``), all of them or
those of one status, walks an index instead of sorting every job of the
execution for each page. The new (execution_id, status, id) index also serves
what (execution_id, status) did (counting an execution's jobs by status), so it
replaces it. Indexes are created and dropped in place on both backends.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_jobs_execution_id_id"), "jobs", ["execution_id", "id"])
    op.create_index(op.f("ix_jobs_execution_id_status_id"), "jobs",
                    ["execution_id", "status", "id"])
    op.drop_index(op.f("ix_jobs_execution_id_status"), table_name="jobs")


def downgrade() -> None:
    op.create_index(op.f("ix_jobs_execution_id_status"), "jobs", ["execution_id", "status"])
    op.drop_index(op.f("ix_jobs_execution_id_status_id"), table_name="jobs")
    op.drop_index(op.f("ix_jobs_execution_id_id"), table_name="jobs")
