"""Executions: one run of a rule (initial sync, manual run, scheduled resync).

An execution's counts and status are derived from its jobs' outcomes, never set
by hand: every job transition refreshes its execution in the same transaction. The
execution row is locked (``FOR UPDATE`` on PostgreSQL; SQLite has one writer at a
time) before its jobs are counted, so two consumers finishing jobs of one execution
at once cannot leave stale counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from shared.store.base import StoreBase
from shared.store.records import (
    ExecutionRecord,
    ExecutionStatus,
    ExecutionTrigger,
    JobAction,
    JobStatus,
)
from shared.store.schema import executions, jobs, rules

UNFINISHED = (JobStatus.PENDING, JobStatus.RUNNING, JobStatus.RETRYING)


class ExecutionStore(StoreBase):
    def create_execution(self, rule_id: int, trigger: ExecutionTrigger | str) -> ExecutionRecord:
        """A new, pending run of a rule. Raises `RecordNotFoundError` for an unknown rule."""
        values = {
            "rule_id": rule_id,
            "trigger": ExecutionTrigger(trigger).value,
            "status": ExecutionStatus.PENDING.value,
            "started_at": self._now(),
        }
        with self._write() as conn:
            self._row(conn, rules, rule_id, "rule")
            row = conn.execute(insert(executions).values(**values).returning(*executions.c)).one()
        return _execution_record(row)

    def get_execution(self, execution_id: int) -> ExecutionRecord:
        """Raises `RecordNotFoundError`."""
        with self._read() as conn:
            return _execution_record(self._row(conn, executions, execution_id, "execution"))

    def list_executions(
        self,
        *,
        rule_id: int | None = None,
        status: ExecutionStatus | str | None = None,
        limit: int = 100,
        offset: int = 0,
        before: int | None = None,
    ) -> list[ExecutionRecord]:
        """Executions, newest first; `before` (an execution id) keeps the older ones."""
        query = select(executions).order_by(executions.c.id.desc()).limit(limit).offset(offset)
        if before is not None:
            query = query.where(executions.c.id < before)
        if rule_id is not None:
            query = query.where(executions.c.rule_id == rule_id)
        if status is not None:
            query = query.where(executions.c.status == ExecutionStatus(status).value)
        with self._read() as conn:
            return [_execution_record(row) for row in conn.execute(query).all()]

    def latest_executions(
        self, rule_ids: Iterable[int] | None = None
    ) -> dict[int, ExecutionRecord]:
        """The newest execution of each rule (of `rule_ids`, or of every rule) that has
        one, by rule id: one query, served by the (rule_id, id) index."""
        newest = select(func.max(executions.c.id)).group_by(executions.c.rule_id)
        if rule_ids is not None:
            wanted = sorted(set(rule_ids))
            if not wanted:
                return {}
            newest = newest.where(executions.c.rule_id.in_(wanted))
        query = select(executions).where(executions.c.id.in_(newest))
        with self._read() as conn:
            rows = conn.execute(query).all()
        return {row.rule_id: _execution_record(row) for row in rows}

    def executions_by_id(self, execution_ids: Iterable[int]) -> dict[int, ExecutionRecord]:
        """The executions of `execution_ids` that exist, by id: one query."""
        wanted = sorted(set(execution_ids))
        if not wanted:
            return {}
        with self._read() as conn:
            rows = conn.execute(select(executions).where(executions.c.id.in_(wanted))).all()
        return {row.id: _execution_record(row) for row in rows}

    def project_summaries(self, source_id: int) -> dict[str, tuple[int, int | None]]:
        """For each project of `source_id`'s rules: how many rules, and the id of the
        newest execution of any of them (None: none ran). One query, whatever the
        number of rules."""
        newest = (select(executions.c.rule_id, func.max(executions.c.id).label("newest"))
                  .group_by(executions.c.rule_id).subquery())
        query = (select(rules.c.project, func.count(rules.c.id), func.max(newest.c.newest))
                 .select_from(rules.outerjoin(newest, newest.c.rule_id == rules.c.id))
                 .where(rules.c.source_id == source_id).group_by(rules.c.project))
        with self._read() as conn:
            return {project: (int(count), latest)
                    for project, count, latest in conn.execute(query).all()}

    def refresh_execution(self, execution_id: int) -> ExecutionRecord:
        """Recompute an execution's counts and status from its jobs.

        Job transitions already do this; call it directly after changing jobs some
        other way. Raises `RecordNotFoundError`.
        """
        with self._write() as conn:
            self._refresh(conn, [execution_id])
            return _execution_record(self._row(conn, executions, execution_id, "execution"))

    def _refresh(self, conn: Connection, execution_ids: Iterable[int | None]) -> None:
        """Derive counts and status of these executions from their jobs (see module doc)."""
        for execution_id in sorted({i for i in execution_ids if i is not None}):
            current = self._row(conn, executions, execution_id, "execution", lock=True)
            by_status: dict[str, int] = {}
            images: dict[str, int] = {}
            counts = conn.execute(
                select(jobs.c.status, jobs.c.action, func.count())
                .where(jobs.c.execution_id == execution_id)
                .group_by(jobs.c.status, jobs.c.action)
            ).all()
            for job_status, action, count in counts:
                by_status[job_status] = by_status.get(job_status, 0) + count
                if action != JobAction.SYNC:
                    images[job_status] = images.get(job_status, 0) + count
            status = _derive_status(by_status)
            finished_at = current.finished_at
            if status in (ExecutionStatus.PENDING, ExecutionStatus.RUNNING):
                finished_at = None
            elif finished_at is None:
                finished_at = self._now()
            conn.execute(
                update(executions)
                .where(executions.c.id == execution_id)
                .values(
                    status=status.value,
                    total=sum(images.values()),
                    succeeded=images.get(JobStatus.SUCCEEDED, 0),
                    failed=images.get(JobStatus.FAILED, 0),
                    skipped=images.get(JobStatus.SKIPPED, 0),
                    finished_at=finished_at,
                )
            )


def _derive_status(by_status: dict[str, int]) -> ExecutionStatus:
    """An execution's status from how many of its jobs are in each status.

    Any job unfinished: pending while none has started, else running. All finished:
    succeeded without failures (also with no jobs at all: nothing to do), failed
    when every job failed, partial otherwise.
    """
    if any(by_status.get(s, 0) for s in UNFINISHED):
        started = sum(count for s, count in by_status.items() if s != JobStatus.PENDING)
        return ExecutionStatus.RUNNING if started else ExecutionStatus.PENDING
    failed = by_status.get(JobStatus.FAILED, 0)
    if not failed:
        return ExecutionStatus.SUCCEEDED
    if failed == sum(by_status.values()):
        return ExecutionStatus.FAILED
    return ExecutionStatus.PARTIAL


def _execution_record(row: Row[Any]) -> ExecutionRecord:
    return ExecutionRecord(
        id=row.id,
        rule_id=row.rule_id,
        trigger=ExecutionTrigger(row.trigger),
        status=ExecutionStatus(row.status),
        total=row.total,
        succeeded=row.succeeded,
        failed=row.failed,
        skipped=row.skipped,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )
