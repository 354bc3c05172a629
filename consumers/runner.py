"""`JobRunner`: one delivery in, one job run, one durable outcome out.

The broker's worker calls it on a pool thread for every message. It records
everything in the store *before* answering (the worker then publishes a retry
or parked copy with a confirm, and only then acks: DESIGN invariant 7), binds
the job to every log line, writes the job's own log, and ends each attempt
with one canonical log line. An attempt that fails before the job runs (the store,
a stored secret or the source could not be read) counts and shows on the job like
any other: its log never starts at attempt 3 while the record says 1.

Each run holds the job's leases under a holder of its own and owns the job only
while it holds them and the broker connection that delivered its message
(DESIGN invariant 4). Its checkpoint, called before each write at the endpoint,
stops it once it has lost either: it then records no outcome (`Abandon`), since
the message is with another run or comes back. On a dead connection nothing can
be acked and the broker redelivers the message. On a live one (the lease was
lost: the store was unreachable, or the process stalled) the worker requeues it,
so that the job is not left "running" with no message: its next run waits for
the lease, and finds the job finished if a duplicate finished it meanwhile.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from consumers.context import JobContext, JobOutcome
from consumers.handlers import Deferred, JobHandlers, Ready
from consumers.joblog import JobLog, JobLogs
from consumers.leases import LEASE_TTL, LeaseKeeper, Share, new_holder
from consumers.metrics import ConsumerMetrics
from consumers.registries import RegistryDirectory
from shared.broker import Ack, Defer, Delivery, Fail, Outcome, Retry
from shared.broker.delivery import Abandon
from shared.copy.checkpoint import Checkpoint, RunAbandonedError
from shared.copy.engine import CopyEngine
from shared.copy.events import CopyEvent
from shared.errors import CrossdockError, PermanentError, TransientError
from shared.messages import JobMessage, MessageDecodeError, decode
from shared.queues import format_delay, retry_tier
from shared.registry.transport import writing_as
from shared.settings import Settings
from shared.store import (
    JobAction,
    JobRecord,
    JobStatus,
    PairRecord,
    RecordNotFoundError,
    Store,
    repository_lease_key,
)
from shared.writetoken import WriteToken, user_agent_for

log = structlog.get_logger("crossdock.consumer")


class JobRunner:
    """The worker's handler: decode, check, lease, run, record."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        directory: RegistryDirectory,
        handlers: JobHandlers,
        engine: CopyEngine,
        metrics: ConsumerMetrics,
        *,
        lease_ttl: float = LEASE_TTL,
    ) -> None:
        self._settings = settings
        self._store = store
        self._directory = directory
        self._handlers = handlers
        self._engine = engine
        self._metrics = metrics
        self.stopping = threading.Event()
        self._leases = LeaseKeeper(store, self.stopping, lease_ttl)
        self._logs = JobLogs(store, self.stopping)
        self._who = f"{socket.gethostname()}:{os.getpid()}"

    def __call__(self, delivery: Delivery) -> Outcome:
        try:
            message = decode(delivery.body)
        except MessageDecodeError as exc:
            self._metrics.undecodable.inc()
            log.error("undecodable message, parked", error=str(exc), queue=delivery.queue)
            return Fail(f"undecodable message: {exc}")
        with structlog.contextvars.bound_contextvars(
            job_id=message.job_id, rule_id=message.rule_id, endpoint=message.endpoint,
            repository=message.repository, tag=message.tag, digest=message.digest,
            action=message.action.value, attempt=delivery.attempt,
        ):
            job_log = self._logs.open(message.job_id)
            try:
                return self._handle(message, delivery, job_log)
            finally:
                self._logs.close(job_log)

    def _handle(self, message: JobMessage, delivery: Delivery, job_log: JobLog) -> Outcome:
        try:
            start = self._start(message, delivery, job_log)
        except Exception as exc:  # the store, a stored secret or the source: not read
            return self._not_started(message.job_id, message.action.value, delivery, exc,
                                     job_log)
        if not isinstance(start, _Start):
            return start
        try:
            return self._run(start, delivery)
        except TransientError as exc:  # the store, while recording the outcome
            log.warning("job attempt not recorded, retrying", error=str(exc))
            return Retry(str(exc))

    def _start(self, message: JobMessage, delivery: Delivery, job_log: JobLog
               ) -> _Start | Outcome:
        """Everything before the leases: read the job and what it needs, then supersede,
        defer or ready it. Returns the outcome of a job that ends here."""
        # A stale message (a duplicate, or one published long ago and confirmed
        # late) is dropped, never parked: parking a finished job's message would
        # show it failed again, or have an operator redrive a job that is done.
        try:
            setting = self._store.job_setting(message.job_id)
        except RecordNotFoundError:
            log.info("stale message dropped: the job no longer exists (its rule was deleted)")
            return Ack()
        job = setting.job
        if job.status.finished:
            log.info("stale message dropped: the job already finished", status=job.status.value)
            return Ack()
        rule = setting.rule
        if rule is None:
            log.info("stale message dropped: the job's rule no longer exists")
            return Ack()
        if not rule.enabled:
            return self._finish_early(job, JobStatus.SKIPPED, "skipped: the rule is disabled",
                                      job_log)
        endpoint, source = setting.endpoint, setting.source
        if endpoint is None:
            raise RecordNotFoundError(f"endpoint {job.endpoint_id} not found")
        if source is None:
            raise RecordNotFoundError(f"source {job.source_id} not found")
        holder = new_holder(job.id)

        ctx = JobContext(
            job=job, rule=rule, source=source, endpoint=endpoint,
            source_client=self._directory.source(source),
            endpoint_client=self._directory.endpoint(endpoint),
            store=self._store, engine=self._engine, log=job_log,
            on_event=lambda event: self._on_event(ctx, event),
            pair=_active_pair(job, setting.pair),
            checkpoint=self._checkpoint(holder, delivery),
            save_log=lambda: self._logs.flush([job_log]),
            fresh_repository=lambda: self._leases.fresh(
                repository_lease_key(endpoint.id, ctx.destination_repository), holder),
        )
        prepared = self._handlers.prepare(ctx)
        if isinstance(prepared, Deferred):
            with self._logs.writing(job_log) as lines:
                self._store.mark_deferred(job.id, f"{prepared.reason}; checking again in "
                                                  f"{self._settings.defer_seconds} s "
                                                  f"(deferral {delivery.deferrals + 1})",
                                          lines=lines)
            log.info("job deferred", reason=prepared.reason, deferrals=delivery.deferrals + 1)
            return Defer(prepared.reason)
        if isinstance(prepared, JobOutcome):
            return self._finish_early(job, prepared.status, prepared.message, job_log)
        return _Start(ctx, prepared, holder, job_log)

    def _run(self, start: _Start, delivery: Delivery) -> Outcome:
        """Take the job's leases, then run its attempt."""
        ctx, holder = start.ctx, start.holder
        keys = self._lock_keys(ctx)
        share = self._share(ctx)
        taken: list[str] = []
        try:
            try:
                for key in keys:
                    if not self._leases.acquire(key, holder, _waiting_note(ctx.log, key),
                                                share):
                        return self._not_started(ctx.job.id, ctx.job.action.value, delivery,
                                                 TransientError("the consumer stopped while "
                                                                "it waited for the repository"),
                                                 start.job_log)
                    taken.append(key)
                if not delivery.connection_alive():  # lost while waiting: never starts
                    return self._abandoned(ctx, holder, "its broker connection closed while "
                                                        "it waited for the repository")
            except Exception as exc:  # the store, while waiting for the repository
                return self._not_started(ctx.job.id, ctx.job.action.value, delivery, exc,
                                         start.job_log)
            return self._attempt(ctx, delivery, start.ready, holder, start.job_log)
        finally:
            for key in reversed(taken):
                self._leases.release(key, holder)

    def _not_started(self, job_id: int, action: str, delivery: Delivery,
                     exc: Exception, job_log: JobLog) -> Outcome:
        """An attempt that failed before the job ran counts, and shows on the job: failed
        at once (permanent), else retried like any attempt (transient, neither branch,
        or a bug). When even that cannot be recorded (the store is down), the message
        is retried and the job's next attempt notes the gap."""
        if isinstance(exc, CrossdockError):
            error = f"before the job ran: {exc}"
        else:
            log.error("unexpected error before the job ran", exc_info=exc)
            error = f"before the job ran: internal error: {type(exc).__name__}: {exc}"
        attempt = delivery.attempt
        outcome: Outcome
        if isinstance(exc, PermanentError):
            outcome, status, recorded = Fail(error), JobStatus.FAILED, error
            line = f"failed: {error}"
        else:
            outcome = Retry(error)
            delay = retry_tier(attempt, self._settings.retry_delays, self._settings.max_attempts)
            if delay is None:
                status = JobStatus.FAILED
                recorded = line = f"failed after {attempt} attempts: {error}"
            else:
                status, recorded = JobStatus.RETRYING, error
                line = f"attempt {attempt} failed, retrying in {format_delay(delay)}: {error}"
        try:
            with self._logs.writing(job_log) as lines:
                self._store.mark_not_started(job_id, attempt, status, recorded, line,
                                             lines=lines)
        except RecordNotFoundError:
            log.info("stale message dropped: the job no longer exists")
            return Ack()
        except CrossdockError as store_exc:
            log.warning("job could not start, nor be recorded", error=error,
                        store_error=str(store_exc))
            return Retry(error)
        if status is JobStatus.RETRYING:
            self._metrics.retries.labels(delivery.endpoint).inc()
        self._metrics.jobs.labels(action, status.value).inc()
        log.warning("job attempt finished", status=status.value, error=error)
        return outcome

    @staticmethod
    def _lock_keys(ctx: JobContext) -> list[str]:
        """The leases a job takes, in this order: its pair's lock on the repository
        (both directions of a pair), then the endpoint repository's lease."""
        if ctx.job.action == JobAction.SYNC:
            return []
        keys = [repository_lease_key(ctx.endpoint.id, ctx.destination_repository)]
        if ctx.pair is not None:
            keys.insert(0, ctx.pair_lock_key)
        return keys

    @staticmethod
    def _share(ctx: JobContext) -> Share | None:
        """What the job may share its repository's lease with (`consumers.leases`): a
        replicate job of an execution, with the other tags of that execution."""
        job = ctx.job
        if (job.action != JobAction.REPLICATE or job.tag is None or job.execution_id is None
                or ctx.pair is not None):
            return None
        return Share(job.execution_id, job.tag)

    def close(self) -> None:
        """The consumer is done: let go of the leases kept for a next run."""
        self._leases.close()

    def _checkpoint(self, holder: str, delivery: Delivery) -> Checkpoint:
        """The run's checkpoint: raises `RunAbandonedError` once it lost a lease or
        the connection its message came on."""

        def checkpoint() -> None:
            reason = self._leases.lost(holder)
            if reason is None and not delivery.connection_alive():
                reason = ("the broker connection that delivered its message closed "
                          "(the broker redelivers it)")
            if reason is not None:
                raise RunAbandonedError(reason)

        return checkpoint

    def _abandoned(self, ctx: JobContext, holder: str, reason: str) -> Abandon:
        """A run that no longer owns its job stops: logged, no outcome recorded."""
        ctx.log("warning", f"{holder} stopped before its next write: {reason}; "
                           "another run finishes the job")
        log.warning("job run abandoned", run=holder, reason=reason)
        return Abandon(reason)

    def _attempt(self, ctx: JobContext, delivery: Delivery, ready: Ready, holder: str,
                 job_log: JobLog) -> Outcome:
        job = ctx.job
        with self._logs.writing(job_log) as lines:
            run_number = self._store.start_run(job.id, delivery.attempt, lines)
        if run_number is None:
            # An earlier run of a redelivered message finished while this one waited.
            log.info("stale message dropped: the job finished while it waited")
            return Ack()
        ctx.log("info", f"attempt {delivery.attempt} started on {self._who} as {holder}"
                + (" (redelivered: the previous consumer stopped or died)"
                   if delivery.redelivered else ""))
        if ready.note:
            ctx.log("info", ready.note)
        # Every request of this run names it, so the registry's notifications about
        # crossdock's own writes can be told apart (DESIGN invariant 3).
        user_agent = user_agent_for(WriteToken(job.id, run_number), self._settings.secret_key)
        started = time.monotonic()
        self._metrics.in_progress.inc()
        outcome: Outcome
        status, error, nbytes = "", None, 0
        try:
            with writing_as(user_agent):
                result: JobOutcome = self._handlers.run(ctx)
        except Exception as exc:
            # A run that lost its job records nothing for a failure, whatever it was
            # (losing the job may have caused it): the job's next run decides.
            reason = str(exc) if isinstance(exc, RunAbandonedError) else self._lost(ctx)
            if reason is None:
                outcome, status, error = self._failed(ctx, delivery, exc, job_log)
            else:
                outcome, status, error = self._abandoned(ctx, holder, reason), "abandoned", reason
        else:
            ctx.log("info", result.message)
            with self._logs.writing(job_log) as lines:
                self._store.mark_finished(job.id, result.status, None, lines=lines)
            outcome, status, nbytes = Ack(), result.status.value, result.bytes_copied
        finally:
            self._metrics.in_progress.dec()
        seconds = time.monotonic() - started
        self._metrics.jobs.labels(job.action.value, status).inc()
        self._metrics.seconds.labels(job.action.value).observe(seconds)
        log.info("job attempt finished", status=status, run=run_number, holder=holder,
                 seconds=round(seconds, 3), bytes=nbytes, error=error)
        return outcome

    @staticmethod
    def _lost(ctx: JobContext) -> str | None:
        """Why the run no longer owns its job, or None."""
        try:
            ctx.checkpoint()
        except RunAbandonedError as exc:
            return str(exc)
        return None

    def _failed(self, ctx: JobContext, delivery: Delivery, exc: Exception, job_log: JobLog
                ) -> tuple[Outcome, str, str]:
        """Record a failed attempt: failed now (permanent), else retried (transient,
        neither branch, or a bug: the message is kept and the tiers run out).
        Returns the outcome, its status and the error."""
        if isinstance(exc, PermanentError):
            error = str(exc)
            ctx.log("error", f"failed: {error}")
            with self._logs.writing(job_log) as lines:
                self._store.mark_finished(ctx.job.id, JobStatus.FAILED, error, lines=lines)
            return Fail(error), "failed", error
        if isinstance(exc, CrossdockError):
            error = str(exc)
        else:
            log.error("unexpected error in job", exc_info=exc)
            error = f"internal error: {type(exc).__name__}: {exc}"
        return Retry(error), self._record_transient(ctx, delivery, error, job_log), error

    def _record_transient(self, ctx: JobContext, delivery: Delivery, error: str,
                          job_log: JobLog) -> str:
        delay = retry_tier(delivery.attempt_in_round, self._settings.retry_delays,
                           self._settings.max_attempts)
        if delay is None:
            text = f"failed after {delivery.attempt} attempts: {error}"
            ctx.log("error", text)
            with self._logs.writing(job_log) as lines:
                self._store.mark_finished(ctx.job.id, JobStatus.FAILED, text, lines=lines)
            return "failed"
        ctx.log("warning", f"attempt {delivery.attempt} failed, retrying in "
                           f"{format_delay(delay)}: {error}")
        with self._logs.writing(job_log) as lines:
            self._store.mark_retrying(ctx.job.id, error, lines=lines)
        self._metrics.retries.labels(ctx.endpoint.name).inc()
        return "retrying"

    def _finish_early(self, job: JobRecord, status: JobStatus, message: str,
                      job_log: JobLog) -> Outcome:
        """End a job before it runs (its rule is off, a newer job supersedes it)."""
        job_log("info", message)
        with self._logs.writing(job_log) as lines:
            self._store.mark_finished(job.id, status, None, lines=lines)
        self._metrics.jobs.labels(job.action.value, status.value).inc()
        log.info("job attempt finished", status=status.value, reason=message)
        return Ack()

    def _on_event(self, ctx: JobContext, event: CopyEvent) -> None:
        if event.kind == "progress":
            if event.nbytes > 0:
                self._metrics.bytes_copied.labels(ctx.endpoint.name).inc(event.nbytes)
        elif event.kind == "log":
            ctx.log(event.level, event.message)


@dataclass(frozen=True)
class _Start:
    """A job ready to take its leases and run."""

    ctx: JobContext
    ready: Ready
    holder: str
    job_log: JobLog


def _active_pair(job: JobRecord, pair: PairRecord | None) -> PairRecord | None:
    """The job's two-way pair, while both of its rules are enabled (with one off, the
    other makes its endpoint equal its source, like any one-way rule)."""
    if job.action == JobAction.SYNC or pair is None:
        return None
    return pair if pair.first.enabled and pair.second.enabled else None


def _waiting_note(job_log: Callable[[str, str], None], key: str) -> Callable[[str | None], None]:
    """What a job's log says when it has to wait for a lease."""

    def note(other: str | None) -> None:
        job_log("info", f"waiting: {other or 'another job'} holds {key}")

    return note
