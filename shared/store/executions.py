"""Executions: one run of a rule (initial sync, manual run, scheduled resync).

An execution's counts and status are derived from its jobs' outcomes, never set
by hand: every job transition moves its execution's counters by its own change
(status before, status after, action) in the same transaction, and derives the
status from them, without counting the jobs again (which made a sync of N images
read N x N rows). The counters are moved by an ``UPDATE … RETURNING``, which locks
the execution row (SQLite has one writer at a time), so two consumers finishing
jobs of one execution at once cannot leave stale counts. `recount` counts the jobs
again (`refresh_execution`, after jobs changed some other way; the tests check the
counters against it).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Update, bindparam, func, insert, select, update

from shared.store.base import StoreBase, row_by_id
from shared.store.errors import RecordNotFoundError
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
        """Recount an execution's counts and status from its jobs.

        Job transitions keep them without counting; call it directly after changing
        jobs some other way. Raises `RecordNotFoundError`.
        """
        with self._write() as conn:
            self._recount(conn, [execution_id])
            return _execution_record(self._row(conn, executions, execution_id, "execution"))

    def execution_counts(self, execution_id: int) -> ExecutionCounts:
        """The counters stored with an execution. Raises `RecordNotFoundError`."""
        with self._read() as conn:
            return ExecutionCounts.of_row(self._row(conn, executions, execution_id, "execution"))

    def recount_execution(self, execution_id: int) -> ExecutionCounts:
        """What counting an execution's jobs gives (nothing is written): what
        `execution_counts` must equal. Raises `RecordNotFoundError`."""
        with self._read() as conn:
            self._row(conn, executions, execution_id, "execution")
            return recount(conn, execution_id)

    def _recount(self, conn: Connection, execution_ids: Iterable[int | None]) -> None:
        """Count these executions' jobs again and store what that gives."""
        for execution_id in sorted({i for i in execution_ids if i is not None}):
            current = self._row(conn, executions, execution_id, "execution", lock=True)
            self._store_counts(conn, current, recount(conn, execution_id))

    def _move(self, conn: Connection, changes: Iterable[JobChange],
              execution_ids: Iterable[int | None] = ()) -> None:
        """Apply job transitions (execution id, status before or None for a new job,
        status after or None for a deleted one, action) to their executions' counters,
        and derive their status again; ``execution_ids``: executions to derive again
        even without a change. Per execution one UPDATE adds the changes to the
        counters and returns the row (it locks it); a second one follows only when
        the status changes, which is rare (pending to running, running to finished)."""
        moves: dict[int, list[JobChange]] = {i: [] for i in execution_ids if i is not None}
        for change in changes:
            if change[0] is not None:
                moves.setdefault(change[0], []).append(change)
        for execution_id in sorted(moves):
            deltas = dict.fromkeys(_COUNTERS, 0)
            for _, before, after, action in moves[execution_id]:
                if before is not None:
                    _tally(deltas, before, action, -1)
                if after is not None:
                    _tally(deltas, after, action, 1)
            moving = tuple(name for name, delta in deltas.items() if delta)
            if moving:
                added = {f"add_{name}": deltas[name] for name in moving}
                row = conn.execute(_add_to_counters(moving),
                                   {"row_id": execution_id, **added}).one_or_none()
            else:
                row = conn.execute(row_by_id(executions, True),
                                   {"row_id": execution_id}).one_or_none()
            if row is None:
                raise RecordNotFoundError(f"execution {execution_id} not found")
            self._store_status(conn, row)

    def _store_status(self, conn: Connection, current: Row[Any]) -> None:
        """Derive an execution's status from its stored counters; written only when it
        changes."""
        status, finished_at = self._status_of(current, ExecutionCounts.of_row(current))
        if status.value == current.status and (finished_at is None) == (
                current.finished_at is None):
            return
        conn.execute(_SET_STATUS, {"row_id": current.id, "status": status.value,
                                   "finished_at": finished_at})

    def _store_counts(self, conn: Connection, current: Row[Any], counts: ExecutionCounts
                      ) -> None:
        """Write an execution's counters and the status they give."""
        status, finished_at = self._status_of(current, counts)
        conn.execute(
            update(executions)
            .where(executions.c.id == current.id)
            .values(status=status.value, finished_at=finished_at, **counts.values())
        )

    def _status_of(self, current: Row[Any], counts: ExecutionCounts
                   ) -> tuple[ExecutionStatus, datetime | None]:
        """The status `counts` give, and ``finished_at`` with it: set when the execution
        finishes, kept while it stays finished, cleared when it is unfinished again."""
        status = counts.status
        if not status.finished:
            return status, None
        return status, current.finished_at or self._now()


# Built once per shape (see `shared.store.base`): every job transition runs them.
_SET_STATUS = update(executions).where(executions.c.id == bindparam("row_id")).values(
    status=bindparam("status"), finished_at=bindparam("finished_at"))


@functools.cache
def _add_to_counters(names: tuple[str, ...]) -> Update:
    """Add ``:add_<name>`` to each counter of ``names`` of execution ``:row_id``, and
    return the row."""
    return (update(executions).where(executions.c.id == bindparam("row_id"))
            .values({name: executions.c[name] + bindparam(f"add_{name}") for name in names})
            .returning(*executions.c))


JobChange = tuple[int | None, str | None, str | None, str]
"""A job's change for its execution's counters: (execution id, status before (None: a
new job), status after (None: deleted), action)."""

_COUNTERS = ("total", "succeeded", "failed", "skipped",
             "jobs_total", "jobs_unfinished", "jobs_started", "jobs_failed")


@dataclass(frozen=True)
class ExecutionCounts:
    """An execution's counters. ``total``, ``succeeded``, ``failed``, ``skipped``
    count its images (every job but the sync job); the ``jobs_`` ones count every job:
    all of them, those unfinished, those started (not pending) and those failed."""

    total: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    jobs_total: int = 0
    jobs_unfinished: int = 0
    jobs_started: int = 0
    jobs_failed: int = 0

    @classmethod
    def of_row(cls, row: Row[Any]) -> ExecutionCounts:
        return cls(**_counters(row))

    def values(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in _COUNTERS}

    @property
    def status(self) -> ExecutionStatus:
        return _derive_status(self)


def recount(conn: Connection, execution_id: int) -> ExecutionCounts:
    """An execution's counters, counted from its jobs (one GROUP BY)."""
    counts = dict.fromkeys(_COUNTERS, 0)
    rows = conn.execute(
        select(jobs.c.status, jobs.c.action, func.count())
        .where(jobs.c.execution_id == execution_id)
        .group_by(jobs.c.status, jobs.c.action)
    ).all()
    for job_status, action, count in rows:
        _tally(counts, job_status, action, count)
    return ExecutionCounts(**counts)


def _counters(row: Row[Any]) -> dict[str, int]:
    return {name: int(getattr(row, name)) for name in _COUNTERS}


def _tally(counts: dict[str, int], job_status: str, action: str, number: int) -> None:
    """Count ``number`` jobs (negative: take them away) of that status and action."""
    counts["jobs_total"] += number
    if job_status in UNFINISHED:
        counts["jobs_unfinished"] += number
    if job_status != JobStatus.PENDING:
        counts["jobs_started"] += number
    if job_status == JobStatus.FAILED:
        counts["jobs_failed"] += number
    if action == JobAction.SYNC:
        return
    counts["total"] += number
    if job_status == JobStatus.SUCCEEDED:
        counts["succeeded"] += number
    elif job_status == JobStatus.FAILED:
        counts["failed"] += number
    elif job_status == JobStatus.SKIPPED:
        counts["skipped"] += number


def _derive_status(counts: ExecutionCounts) -> ExecutionStatus:
    """An execution's status from its counters.

    Any job unfinished: pending while none has started, else running. All finished:
    succeeded without failures (also with no jobs at all: nothing to do), failed
    when every job failed, partial otherwise.
    """
    if counts.jobs_unfinished:
        return ExecutionStatus.RUNNING if counts.jobs_started else ExecutionStatus.PENDING
    if not counts.jobs_failed:
        return ExecutionStatus.SUCCEEDED
    if counts.jobs_failed == counts.jobs_total:
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
