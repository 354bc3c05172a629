"""Jobs and job logs: the truth behind the jobs list (DESIGN invariant 8).

A job is one action for one image, rule and endpoint, and one queue message. Each
transition moves its execution's counters by its own change in the same transaction
(see `shared.store.executions`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    bindparam,
    delete,
    func,
    insert,
    null,
    or_,
    select,
    update,
)
from sqlalchemy import exc as sa_exc

from shared.errors import CrossdockError
from shared.store.errors import ConflictError, RecordNotFoundError
from shared.store.executions import ExecutionStore
from shared.store.records import (
    JobAction,
    JobLogRecord,
    JobRecord,
    JobStatus,
    LogLevel,
    NewJob,
    NewLogLine,
)
from shared.store.schema import executions, job_logs, jobs, rules

_FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.SKIPPED)
# Built once: every webhook that makes jobs runs it.
_INSERT_JOBS = insert(jobs).returning(*jobs.c, sort_by_parameter_order=True)
# Built once: every consumer job asks it (served by the (rule, repository, tag, id) index).
_NEWER_JOB = select(func.max(jobs.c.id)).where(
    jobs.c.rule_id == bindparam("rule_id"),
    jobs.c.repository == bindparam("repository"),
    jobs.c.tag == bindparam("tag"),
    jobs.c.id > bindparam("id"),
    # Not IN (...): SQLAlchemy expands an IN's parameters on every run.
    or_(jobs.c.action == JobAction.REPLICATE.value, jobs.c.action == JobAction.DELETE.value),
)
# Built once (see `shared.store.base`): each consumer job runs them.
_START_RUN = update(jobs).where(jobs.c.id == bindparam("row_id")).values(
    status=bindparam("status"), attempts=bindparam("attempts"),
    started_at=bindparam("started_at"), finished_at=null(), updated_at=bindparam("updated_at"),
)
_TRANSITION = update(jobs).where(jobs.c.id == bindparam("row_id")).values(
    status=bindparam("status"), error=bindparam("error"), updated_at=bindparam("updated_at"),
    finished_at=bindparam("finished_at"),
).returning(*jobs.c)
_INSERT_LOG = insert(job_logs)


class JobStore(ExecutionStore):
    # Jobs -----------------------------------------------------------------------

    def create_jobs(
        self, specs: Sequence[NewJob], *, skip_deleted_rules: bool = False
    ) -> list[JobRecord]:
        """Record pending jobs in one transaction, in the order given.

        The receiver records the jobs first and publishes them afterwards: then
        `mark_queued`, or if the publish fails `discard_unqueued` (a webhook answered
        503) or `mark_publish_failed`. Raises `RecordNotFoundError`
        when a spec names a rule, endpoint, source or execution that does not exist.

        `skip_deleted_rules`: the specs of rules deleted since they were planned are
        left out instead (a webhook whose rule went meanwhile); those still there
        can't be deleted before this transaction ends.
        """
        if not specs:
            return []
        now = self._now()
        params = [
            {
                "execution_id": spec.execution_id,
                "rule_id": spec.rule_id,
                "endpoint_id": spec.endpoint_id,
                "source_id": spec.source_id,
                "repository": spec.repository,
                "tag": spec.tag,
                "digest": spec.digest,
                "action": JobAction(spec.action).value,
                "status": JobStatus.PENDING.value,
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
            }
            for spec in specs
        ]
        execution_ids = sorted({s.execution_id for s in specs if s.execution_id is not None})
        with self._write(_missing_reference) as conn:
            # Lock the executions before adding to them (see the module docstring).
            for execution_id in execution_ids:
                self._row(conn, executions, execution_id, "execution", lock=True)
            if skip_deleted_rules:
                kept = _existing_rules(conn, {spec.rule_id for spec in specs})
                params = [values for values in params if values["rule_id"] in kept]
                if not params:
                    return []
            rows = conn.execute(_INSERT_JOBS, params).all()
            self._move(conn, [(row.execution_id, None, row.status, row.action) for row in rows],
                       execution_ids)
        return [_job_record(row) for row in rows]

    def get_job(self, job_id: int) -> JobRecord:
        """Raises `RecordNotFoundError`."""
        with self._read() as conn:
            return _job_record(self._row(conn, jobs, job_id, "job"))

    def list_jobs(
        self,
        *,
        rule_id: int | None = None,
        endpoint_id: int | None = None,
        status: JobStatus | str | None = None,
        execution_id: int | None = None,
        limit: int = 100,
        offset: int = 0,
        before: int | None = None,
    ) -> list[JobRecord]:
        """Jobs, newest first, narrowed by whichever filters are given.

        `before` (a job id) keeps the jobs older than that one: the key of the next
        page, which indexes serve at any depth (an `offset` reads and skips rows).
        """
        query = select(jobs).order_by(jobs.c.id.desc()).limit(limit).offset(offset)
        if before is not None:
            query = query.where(jobs.c.id < before)
        if rule_id is not None:
            query = query.where(jobs.c.rule_id == rule_id)
        if endpoint_id is not None:
            query = query.where(jobs.c.endpoint_id == endpoint_id)
        if status is not None:
            query = query.where(jobs.c.status == JobStatus(status).value)
        if execution_id is not None:
            query = query.where(jobs.c.execution_id == execution_id)
        with self._read() as conn:
            return [_job_record(row) for row in conn.execute(query).all()]

    def mark_running(self, job_id: int, attempt: int = 1) -> int:
        """A consumer starts an attempt: status running, attempts + 1 and at least
        ``attempt`` (the message's own count); returns the job's new count.

        A job found already running had a consumer that stopped mid-attempt (the
        broker redelivered its message): a warning line in the job's log says so. So
        does a count that jumps: attempts that failed before the job ran and could not
        be recorded then. A finished job may run again (a manual retry). Raises
        `RecordNotFoundError` (the job, or its rule, was deleted: drop the message).
        """
        with self._write() as conn:
            count = self._mark_running(conn, job_id, attempt, (), finished_too=True)
        assert count is not None
        return count

    def start_run(self, job_id: int, attempt: int, lines: Sequence[NewLogLine] = ()
                  ) -> int | None:
        """`mark_running` for a consumer's run that holds the job's leases, in one
        transaction with the run's log lines so far (written first): None, and nothing
        changed, when the job finished meanwhile (an earlier run of a redelivered
        message finished it while this one waited: drop the message). Raises
        `RecordNotFoundError`."""
        with self._write() as conn:
            return self._mark_running(conn, job_id, attempt, lines, finished_too=False)

    def _mark_running(self, conn: Connection, job_id: int, attempt: int,
                      lines: Sequence[NewLogLine], *, finished_too: bool) -> int | None:
        now = self._now()
        row = self._row(conn, jobs, job_id, "job", lock=True)
        if not finished_too and JobStatus(row.status) in _FINISHED:
            return None
        self._log_lines(conn, lines, job_id)
        count = max(row.attempts + 1, attempt)
        conn.execute(_START_RUN, {"row_id": job_id, "status": JobStatus.RUNNING.value,
                                  "attempts": count, "started_at": row.started_at or now,
                                  "updated_at": now})
        if row.status == JobStatus.RUNNING:
            self._log(
                conn, job_id, LogLevel.WARNING,
                f"attempt {row.attempts} did not finish (its consumer stopped); "
                f"retried as attempt {count}",
            )
        elif count > row.attempts + 1:
            self._log(conn, job_id, LogLevel.WARNING, _unrecorded(row.attempts + 1, count))
        self._move(conn, [(row.execution_id, row.status, JobStatus.RUNNING.value, row.action)])
        return int(count)

    def mark_not_started(
        self, job_id: int, attempt: int, status: JobStatus | str, error: str, message: str,
        *, lines: Sequence[NewLogLine] = (),
    ) -> JobRecord:
        """An attempt failed before the job ran (reading the store, a stored secret or
        the source): it counts like any other (attempts + 1 and at least ``attempt``,
        the message's own count), the job is ``retrying`` or ``failed`` with ``error``,
        and ``message`` goes to its log, after ``lines`` (kept back by the caller). A job
        already finished is left as it is.

        Raises `ValueError` for another status, `RecordNotFoundError`.
        """
        final = JobStatus(status)
        if final not in (JobStatus.RETRYING, JobStatus.FAILED):
            raise ValueError(f"mark_not_started needs retrying or failed, not {final}")
        now = self._now()
        with self._write() as conn:
            row = self._row(conn, jobs, job_id, "job", lock=True)
            self._log_lines(conn, lines)
            if JobStatus(row.status) in _FINISHED:
                return _job_record(row)
            count = max(row.attempts + 1, attempt)
            if count > row.attempts + 1:
                self._log(conn, job_id, LogLevel.WARNING, _unrecorded(row.attempts + 1, count))
            before = row.status
            row = conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id)
                .values(status=final.value, attempts=count, error=error, updated_at=now,
                        finished_at=now if final is JobStatus.FAILED else None)
                .returning(*jobs.c)
            ).one()
            level = LogLevel.ERROR if final is JobStatus.FAILED else LogLevel.WARNING
            self._log(conn, job_id, level, message)
            self._move(conn, [(row.execution_id, before, row.status, row.action)])
        return _job_record(row)

    def mark_retrying(self, job_id: int, error: str, *, lines: Sequence[NewLogLine] = ()
                      ) -> JobRecord:
        """The attempt failed on a transient error; the job waits in a retry queue.
        ``lines``: log lines the caller kept back, written in the same transaction.

        Raises `RecordNotFoundError`.
        """
        return self._transition(job_id, JobStatus.RETRYING, error, finished=False, lines=lines)

    def mark_finished(
        self, job_id: int, status: JobStatus | str, error: str | None = None,
        *, lines: Sequence[NewLogLine] = (),
    ) -> JobRecord:
        """The job ended: succeeded, skipped or failed (with ``error``). ``lines``: log
        lines the caller kept back, written in the same transaction.

        Raises `ValueError` for an unfinished status, `RecordNotFoundError`.
        """
        final = JobStatus(status)
        if final not in _FINISHED:
            raise ValueError(f"mark_finished needs one of {', '.join(_FINISHED)}, not {final}")
        return self._transition(job_id, final, error, finished=True, lines=lines)

    def mark_publish_failed(self, job_ids: Iterable[int], error: str) -> list[int]:
        """Fail recorded jobs whose message never reached the broker, so none stays
        pending forever; each gets an error line in its log.

        Only jobs still pending change (a job a consumer already picked up was
        published after all). Returns the ids that were failed.
        """
        ids = sorted(set(job_ids))
        if not ids:
            return []
        now = self._now()
        with self._write() as conn:
            rows = conn.execute(
                update(jobs)
                .where(jobs.c.id.in_(ids), jobs.c.status == JobStatus.PENDING.value)
                .values(status=JobStatus.FAILED.value, error=error, finished_at=now,
                        updated_at=now)
                .returning(jobs.c.id, jobs.c.execution_id, jobs.c.action)
            ).all()
            for row in rows:
                self._log(conn, row.id, LogLevel.ERROR,
                          f"the job could not be queued, it will not run: {error}")
            self._move(conn, [(row.execution_id, JobStatus.PENDING.value,
                               JobStatus.FAILED.value, row.action) for row in rows])
        return sorted(row.id for row in rows)

    def mark_queued(self, job_ids: Iterable[int]) -> None:
        """RabbitMQ confirmed these jobs' messages: one UPDATE for the batch."""
        ids = sorted(set(job_ids))
        if not ids:
            return
        with self._write() as conn:
            conn.execute(update(jobs).where(jobs.c.id.in_(ids)).values(queued_at=self._now()))

    def discard_unqueued(self, job_ids: Iterable[int]) -> list[int]:
        """Delete recorded jobs whose publish failed, for a webhook answered 503: the
        registry sends the event again, and a failed job per attempt would only
        mislead. Only jobs still pending and never queued go (a job a consumer
        already picked up was published after all). Returns the ids deleted."""
        ids = sorted(set(job_ids))
        if not ids:
            return []
        with self._write() as conn:
            rows = conn.execute(
                delete(jobs)
                .where(jobs.c.id.in_(ids), jobs.c.status == JobStatus.PENDING.value,
                       jobs.c.queued_at.is_(None))
                .returning(jobs.c.id, jobs.c.execution_id, jobs.c.action)
            ).all()
            self._move(conn, [(row.execution_id, JobStatus.PENDING.value, None, row.action)
                              for row in rows])
        return sorted(row.id for row in rows)

    def unqueued_jobs(self, recorded_before: datetime, *, limit: int = 500) -> list[JobRecord]:
        """Pending jobs never confirmed by RabbitMQ and unchanged since before
        `recorded_before`, oldest first: their publish was lost (the sweeper's list)."""
        query = (
            select(jobs)
            .where(jobs.c.status == JobStatus.PENDING.value, jobs.c.queued_at.is_(None),
                   jobs.c.updated_at < recorded_before)
            .order_by(jobs.c.id)
            .limit(limit)
        )
        with self._read() as conn:
            return [_job_record(row) for row in conn.execute(query).all()]

    def reset_for_retry(self, job_id: int) -> JobRecord:
        """An operator retries a failed job: back to pending (attempts and the last
        error kept, so the log reads on; no longer queued), with a line in its log. The
        caller then publishes it again (`shared.dispatch.publish_recorded`).

        Raises `ConflictError` when the job is not failed, `RecordNotFoundError`.
        """
        now = self._now()
        with self._write() as conn:
            row = self._row(conn, jobs, job_id, "job", lock=True)
            if row.status != JobStatus.FAILED:
                raise ConflictError(
                    f"job {job_id} is {row.status}, not failed: only a failed job can be retried"
                )
            row = conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id)
                .values(status=JobStatus.PENDING.value, finished_at=None, updated_at=now,
                        queued_at=None)
                .returning(*jobs.c)
            ).one()
            self._log(conn, job_id, LogLevel.INFO,
                      f"retried by an operator after {row.attempts} attempt(s)")
            self._move(conn, [(row.execution_id, JobStatus.FAILED.value, row.status,
                               row.action)])
        return _job_record(row)

    def mark_deferred(self, job_id: int, message: str, *, lines: Sequence[NewLogLine] = ()
                      ) -> JobRecord:
        """The attempt could not conclude yet (DESIGN invariant 2: the source is still
        writing) and the job is re-queued with a short delay: back to pending, its
        attempts unchanged and its last error cleared, with ``message`` in its log
        (after ``lines``, kept back by the caller). Raises `RecordNotFoundError`.
        """
        return self._transition(job_id, JobStatus.PENDING, None, finished=False,
                                log=message, lines=lines)

    def set_job_plan(self, job_id: int, plan: dict[str, Any] | None) -> None:
        """Record what a destructive job will do (None: forget it), before its first
        destructive step, so that every retry finishes it. Raises `RecordNotFoundError`.
        """
        with self._write() as conn:
            result = conn.execute(
                update(jobs).where(jobs.c.id == job_id)
                # SQL NULL, not JSON null, for "no plan".
                .values(plan=null() if plan is None else plan, updated_at=self._now())
            )
            if result.rowcount == 0:
                raise RecordNotFoundError(f"job {job_id} not found")

    def newer_job(self, job: JobRecord) -> int | None:
        """The id of the newest replicate or delete job recorded after ``job`` for the
        same rule, repository and tag: a newer event that supersedes it. None without
        one, or when ``job`` has no tag."""
        if job.tag is None:
            return None
        with self._read() as conn:
            newest: int | None = conn.execute(_NEWER_JOB, {
                "rule_id": job.rule_id, "repository": job.repository, "tag": job.tag,
                "id": job.id,
            }).scalar_one()
        return newest

    # Logs -----------------------------------------------------------------------

    def append_log(self, job_id: int, level: LogLevel | str, message: str) -> None:
        """Add a line to a job's log. Raises `RecordNotFoundError`."""
        with self._write() as conn:
            self._row(conn, jobs, job_id, "job")
            self._log(conn, job_id, LogLevel(level), message)

    def append_logs(self, lines: Sequence[NewLogLine]) -> None:
        """Add lines kept back, of any jobs, in one transaction and in the order given;
        those of jobs deleted meanwhile are dropped."""
        if not lines:
            return
        with self._write() as conn:
            self._log_lines(conn, lines)

    def job_log(self, job_id: int) -> list[JobLogRecord]:
        """A job's log lines, oldest first. Raises `RecordNotFoundError`."""
        with self._read() as conn:
            self._row(conn, jobs, job_id, "job")
            rows = conn.execute(
                select(job_logs).where(job_logs.c.job_id == job_id).order_by(job_logs.c.id)
            ).all()
        return [
            JobLogRecord(id=row.id, job_id=row.job_id, at=row.at, level=LogLevel(row.level),
                         message=row.message)
            for row in rows
        ]

    # Internals ------------------------------------------------------------------

    def _transition(
        self, job_id: int, status: JobStatus, error: str | None, *, finished: bool,
        log: str | None = None, lines: Sequence[NewLogLine] = (),
    ) -> JobRecord:
        now = self._now()
        with self._write() as conn:
            # Locked first: its status before is what its execution's counters hold.
            before = self._row(conn, jobs, job_id, "job", lock=True).status
            self._log_lines(conn, lines, job_id)
            row = conn.execute(_TRANSITION, {
                "row_id": job_id, "status": status.value, "error": error, "updated_at": now,
                "finished_at": now if finished else None,
            }).one()
            if log is not None:
                self._log(conn, job_id, LogLevel.INFO, log)
            self._move(conn, [(row.execution_id, before, row.status, row.action)])
        return _job_record(row)

    def _log(self, conn: Connection, job_id: int, level: LogLevel, message: str) -> None:
        conn.execute(_INSERT_LOG, {"job_id": job_id, "at": self._now(), "level": level.value,
                                   "message": message})

    @staticmethod
    def _log_lines(conn: Connection, lines: Sequence[NewLogLine], locked: int | None = None
                   ) -> None:
        """Insert lines kept back, skipping those of jobs that no longer exist;
        ``locked``: a job this transaction has read (and locked), known to exist."""
        if not lines:
            return
        ids = sorted({line.job_id for line in lines})
        if ids == [locked]:
            existing = {locked}
        else:
            existing = set(conn.execute(select(jobs.c.id).where(jobs.c.id.in_(ids))).scalars())
        rows = [{"job_id": line.job_id, "at": line.at, "level": LogLevel(line.level).value,
                 "message": line.message} for line in lines if line.job_id in existing]
        if rows:
            conn.execute(_INSERT_LOG, rows)

def _existing_rules(conn: Connection, rule_ids: set[int]) -> set[int]:
    """Which of `rule_ids` exist, each locked against deletion until the transaction
    ends (``FOR KEY SHARE`` on PostgreSQL; SQLite's write lock already holds it)."""
    query = (select(rules.c.id).where(rules.c.id.in_(sorted(rule_ids)))
             .with_for_update(read=True, key_share=True))
    return set(conn.execute(query).scalars())


def _unrecorded(first: int, current: int) -> str:
    """The log line for attempts the job's record missed (``first`` up to before
    ``current``)."""
    which = f"attempt {first}" if current - first == 1 else f"attempts {first}-{current - 1}"
    return (f"{which} failed before the job ran and could not be recorded here (see the "
            "consumer's log)")


def _missing_reference(_exc: sa_exc.IntegrityError) -> CrossdockError:
    return RecordNotFoundError(
        "a job names a rule, endpoint, source or execution that does not exist"
    )


def _job_record(row: Row[Any]) -> JobRecord:
    return JobRecord(
        id=row.id,
        execution_id=row.execution_id,
        rule_id=row.rule_id,
        endpoint_id=row.endpoint_id,
        source_id=row.source_id,
        repository=row.repository,
        tag=row.tag,
        digest=row.digest,
        action=JobAction(row.action),
        status=JobStatus(row.status),
        attempts=row.attempts,
        error=row.error,
        created_at=row.created_at,
        updated_at=row.updated_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        plan=row.plan,
        queued_at=row.queued_at,
    )

