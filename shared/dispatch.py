"""Recording jobs and publishing them: the one way a job enters the system.

Jobs are recorded first, then published with confirms, then marked queued (one
UPDATE for the batch). When the publish fails, what becomes of the recorded jobs
is the caller's choice (`OnFailure`): a webhook answered 503 deletes them (the
registry sends the event again), an API call marks them failed with the reason
(DESIGN invariant 8: none stays "pending" forever), the sweeper leaves them for
its next round. The error is raised for the caller to answer.

A `Deadline` bounds the work: checked before the publish and handed to the
publisher, so that the bookkeeping after a failure still fits in its reserve.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache, partial

import structlog

from shared.deadline import Deadline
from shared.errors import CrossdockError, TransientError
from shared.messages import JobAction, JobMessage
from shared.store import (
    ExecutionRecord,
    ExecutionTrigger,
    JobRecord,
    NewJob,
    RuleRecord,
    Store,
    StoreUnavailableError,
)
from shared.store import JobAction as StoreJobAction

PublishJobs = Callable[[Sequence[JobMessage]], None]
"""`Publisher.publish_jobs`, or any callable taking the messages (and, if it
accepts one, a ``deadline=`` keyword: an absolute `time.monotonic()`)."""

log = structlog.get_logger(__name__)


class OnFailure(enum.Enum):
    """What becomes of recorded jobs whose publish failed."""

    FAIL = "fail"  # marked failed with the reason (API-started jobs: retry them)
    DISCARD = "discard"  # deleted: the request is answered 503 and will come again
    KEEP = "keep"  # left pending: the sweeper publishes them again later


def job_message(job: JobRecord, endpoint_name: str) -> JobMessage:
    """The queue message for a recorded job."""
    return JobMessage(
        job_id=job.id, action=JobAction(job.action.value), rule_id=job.rule_id,
        endpoint_id=job.endpoint_id, endpoint=endpoint_name, source_id=job.source_id,
        repository=job.repository, tag=job.tag, digest=job.digest,
        execution_id=job.execution_id, created_at=job.created_at,
    )


def dispatch(
    store: Store,
    publish: PublishJobs,
    specs: Sequence[NewJob],
    endpoint_names: Mapping[int, str] | None = None,
    *,
    deadline: Deadline | None = None,
    on_failure: OnFailure = OnFailure.FAIL,
    skip_deleted_rules: bool = False,
) -> list[JobRecord]:
    """Record `specs` as jobs and publish one message per job.

    `skip_deleted_rules`: record nothing for the specs of rules deleted meanwhile
    (see `Store.create_jobs`); the jobs returned tell which were recorded.

    Raises the publisher's error or `DeadlineExceededError` (after `on_failure`), or
    the store's.
    """
    if not specs:
        return []
    if deadline is not None:
        deadline.check("recording the jobs")
    jobs = store.create_jobs(specs, skip_deleted_rules=skip_deleted_rules)
    if not jobs:
        return []
    publish_recorded(store, publish, jobs, endpoint_names, deadline=deadline,
                     on_failure=on_failure)
    return jobs


def publish_recorded(
    store: Store,
    publish: PublishJobs,
    jobs: Sequence[JobRecord],
    endpoint_names: Mapping[int, str] | None = None,
    *,
    deadline: Deadline | None = None,
    on_failure: OnFailure = OnFailure.FAIL,
) -> None:
    """Publish already recorded jobs and mark them queued; on failure, `on_failure`.

    Raises what the publish (or the store, or the deadline) raised.
    """
    ids = [job.id for job in jobs]
    try:
        names = dict(endpoint_names or {})
        for endpoint_id in {job.endpoint_id for job in jobs} - set(names):
            names[endpoint_id] = store.get_endpoint(endpoint_id).name
        if deadline is not None:
            deadline.check("publishing the jobs")
        bounded(publish, deadline)([job_message(job, names[job.endpoint_id]) for job in jobs])
    except CrossdockError as exc:
        _give_up(store, ids, exc, on_failure)
        raise
    try:
        store.mark_queued(ids)
    except CrossdockError as exc:
        # Published and confirmed all the same: the sweeper may publish them once
        # more, and the consumer drops the duplicate of a finished job.
        log.warning("jobs published but not marked queued", jobs=ids, error=str(exc))


def bounded(publish: PublishJobs, deadline: Deadline | None) -> PublishJobs:
    """`publish` with ``deadline=`` bound (the deadline's `work_by`), if it takes one."""
    if deadline is None or not _takes_deadline(getattr(publish, "__func__", publish)):
        return publish
    bound: PublishJobs = partial(publish, deadline=deadline.work_by)  # type: ignore[call-arg]
    return bound


@lru_cache(maxsize=64)  # asked on every webhook: the signature is read once per function
def _takes_deadline(function: Callable[..., None]) -> bool:
    try:
        return "deadline" in inspect.signature(function).parameters
    except (TypeError, ValueError):  # a builtin without a signature
        return False


def _give_up(store: Store, ids: list[int], error: CrossdockError, on_failure: OnFailure) -> None:
    """Delete, fail or keep the jobs whose publish failed. Never raises: the publish's
    error is the one to answer, and a job left pending is the sweeper's."""
    if on_failure is OnFailure.KEEP:
        return
    if on_failure is OnFailure.DISCARD:
        try:
            store.discard_unqueued(ids)
            return
        except CrossdockError as exc:
            log.warning("could not delete the unqueued jobs, failing them", jobs=ids,
                        error=str(exc))
    try:
        store.mark_publish_failed(ids, f"could not queue the job: {error}")
    except CrossdockError as exc:
        log.warning("could not fail the unqueued jobs, the sweeper will publish them",
                    jobs=ids, error=str(exc))


class ExecutionNotQueuedError(TransientError):
    """An execution was recorded but its sync job could not be published (its job
    is marked failed). `execution_id` names it, so it can be reported and rerun."""

    def __init__(self, message: str, execution_id: int) -> None:
        super().__init__(message)
        self.execution_id = execution_id


def start_execution(
    store: Store, publish: PublishJobs, rule: RuleRecord, trigger: ExecutionTrigger | str,
    *, deadline: Deadline | None = None,
) -> tuple[ExecutionRecord, JobRecord]:
    """Start one run of a rule: an execution and its sync job, which lists the
    project at the source and queues one replicate job per image.

    Raises `ExecutionNotQueuedError` when the publish fails or the deadline passes
    after the execution was recorded (its job is then failed), the store's errors
    and `DeadlineExceededError` otherwise.
    """
    if deadline is not None:
        deadline.check("starting an execution")
    execution = store.create_execution(rule.id, trigger)
    spec = NewJob(rule_id=rule.id, endpoint_id=rule.endpoint_id, source_id=rule.source_id,
                  repository=rule.project, action=StoreJobAction.SYNC, execution_id=execution.id)
    [job] = store.create_jobs([spec])
    try:
        publish_recorded(store, publish, [job], deadline=deadline)
    except StoreUnavailableError:
        raise
    except CrossdockError as exc:
        raise ExecutionNotQueuedError(
            f"execution {execution.id} was recorded but its sync job could not be queued: {exc}",
            execution.id,
        ) from exc
    return store.get_execution(execution.id), job
