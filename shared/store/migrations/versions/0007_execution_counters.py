"""Executions keep counters of all their jobs: ``jobs_total``, ``jobs_unfinished``,
``jobs_started`` and ``jobs_failed``.

Each job transition moves them by its own change instead of counting the
execution's jobs again (N transitions x N rows for a sync of N images). Every
execution gets them counted from its jobs, in one pass over the jobs (the recount
of `shared.store.executions`, frozen here as it is at this revision), its image
counts too, so that every counter starts out equal to what counting gives. Status
and ``finished_at`` are left as they are: the next transition derives them, as
before (an execution not given its jobs yet stays pending).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

_NEW = ("jobs_total", "jobs_unfinished", "jobs_started", "jobs_failed")
_COUNTERS = ("total", "succeeded", "failed", "skipped", *_NEW)
_UNFINISHED = ("pending", "running", "retrying")


def upgrade() -> None:
    for name in _NEW:
        op.add_column("executions",
                      sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
    _backfill(op.get_bind())


def downgrade() -> None:
    for name in reversed(_NEW):
        op.drop_column("executions", name)


def _backfill(conn: sa.Connection) -> None:
    executions = sa.table("executions", sa.column("id"), *(sa.column(n) for n in _COUNTERS))
    jobs = sa.table("jobs", sa.column("execution_id"), sa.column("status"),
                    sa.column("action"))
    counts: dict[int, dict[str, int]] = {
        key: dict.fromkeys(_COUNTERS, 0)
        for key in conn.execute(sa.select(executions.c.id)).scalars()
    }
    grouped = conn.execute(
        sa.select(jobs.c.execution_id, jobs.c.status, jobs.c.action, sa.func.count())
        .where(jobs.c.execution_id.is_not(None))
        .group_by(jobs.c.execution_id, jobs.c.status, jobs.c.action)
    )
    for execution_id, status, action, number in grouped:
        _tally(counts[execution_id], status, action, number)
    if counts:
        conn.execute(
            sa.update(executions).where(executions.c.id == sa.bindparam("key"))
            .values(**{name: sa.bindparam(f"new_{name}") for name in _COUNTERS}),
            [{"key": key, **{f"new_{name}": value for name, value in values.items()}}
             for key, values in counts.items()],
        )


def _tally(counts: dict[str, int], status: str, action: str, number: int) -> None:
    counts["jobs_total"] += number
    if status in _UNFINISHED:
        counts["jobs_unfinished"] += number
    if status != "pending":
        counts["jobs_started"] += number
    if status == "failed":
        counts["jobs_failed"] += number
    if action == "sync":
        return
    counts["total"] += number
    if status in ("succeeded", "failed", "skipped"):
        counts[status] += number
