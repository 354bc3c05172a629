"""Recording jobs and publishing them: the one way a job enters the system.

Jobs are recorded first, then published with confirms. When the publish
fails, the jobs are marked failed with the reason (DESIGN invariant 8: none
stays "pending" forever) and the error is raised for the caller to answer
(the receiver: 503, so the registry sends the event again).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

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
) -> list[JobRecord]:
    """Record `specs` as jobs and publish one message per job.

    Raises the publisher's error (after marking the jobs failed) or the store's.
    """
    if not specs:
        return []
    jobs = store.create_jobs(specs)
    publish_recorded(store, publish, jobs, endpoint_names)
    return jobs


def publish_recorded(
    store: Store,
    publish: PublishJobs,
    jobs: Sequence[JobRecord],
    endpoint_names: Mapping[int, str] | None = None,
) -> None:
    """Publish already recorded jobs; mark them failed if that doesn't work."""
    names = dict(endpoint_names or {})
    for endpoint_id in {job.endpoint_id for job in jobs} - set(names):
        names[endpoint_id] = store.get_endpoint(endpoint_id).name
    try:
        publish([job_message(job, names[job.endpoint_id]) for job in jobs])
    except CrossdockError as exc:
        store.mark_publish_failed([job.id for job in jobs], f"could not queue the job: {exc}")
        raise


class ExecutionNotQueuedError(TransientError):
    """An execution was recorded but its sync job could not be published (its job
    is marked failed). `execution_id` names it, so it can be reported and rerun."""

    def __init__(self, message: str, execution_id: int) -> None:
        super().__init__(message)
        self.execution_id = execution_id


def start_execution(
    store: Store, publish: PublishJobs, rule: RuleRecord, trigger: ExecutionTrigger | str
) -> tuple[ExecutionRecord, JobRecord]:
    """Start one run of a rule: an execution and its sync job, which lists the
    project at the source and queues one replicate job per image.

    Raises `ExecutionNotQueuedError` when the publish fails, the store's errors otherwise.
    """
    execution = store.create_execution(rule.id, trigger)
    spec = NewJob(rule_id=rule.id, endpoint_id=rule.endpoint_id, source_id=rule.source_id,
                  repository=rule.project, action=StoreJobAction.SYNC, execution_id=execution.id)
    try:
        [job] = dispatch(store, publish, [spec])
    except StoreUnavailableError:
        raise
    except CrossdockError as exc:
        raise ExecutionNotQueuedError(
            f"execution {execution.id} was recorded but its sync job could not be queued: {exc}",
            execution.id,
        ) from exc
    return store.get_execution(execution.id), job
