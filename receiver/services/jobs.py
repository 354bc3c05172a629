"""Replication jobs: listing them page by page, and retrying a failed one."""

from __future__ import annotations

from functools import partial

import structlog

from receiver.errors import unavailable_reason
from receiver.services.context import Services
from receiver.services.errors import NotQueuedError
from receiver.services.executions import refuse_while_blocked
from receiver.services.pages import Page, page_of
from receiver.services.turns import failed_queue_turn
from shared.broker import BrokerError, retry_parked
from shared.deadline import Deadline, DeadlineExceededError
from shared.dispatch import publish_recorded
from shared.errors import CrossdockError
from shared.store import JobRecord, JobStatus

log = structlog.get_logger("crossdock.receiver")


def list_jobs(found: Services, *, rule_id: int | None = None, endpoint_id: int | None = None,
              status: JobStatus | None = None, execution_id: int | None = None,
              limit: int = 100, offset: int = 0, before: int | None = None) -> Page[JobRecord]:
    """Jobs newest first, narrowed by whichever filters are given, older than `before`
    (a job id) when given."""
    rows = found.store.list_jobs(rule_id=rule_id, endpoint_id=endpoint_id, status=status,
                                 execution_id=execution_id, limit=limit + 1, offset=offset,
                                 before=before)
    return page_of(rows, limit, lambda job: job.id)


def retry_job(found: Services, job_id: int, deadline: Deadline | None = None) -> JobRecord:
    """Retry a failed job: back to pending, its parked message moved from the failed
    queue back to work (keeping its attempt, starting a new round), so the failed
    queue shows only failed jobs; any other copy parked is dropped. With none parked
    (its publish failed, or the queue was purged) a new message runs as the job's
    next attempt, published within `deadline` (by default
    ``webhook_deadline_seconds`` from now).

    Raises `BrokerBlockedError` before the job changes while RabbitMQ blocks
    publishes; `NotQueuedError` when the move or publish failed (the job is failed
    again with the reason); `ConflictError` unless the job is failed, or while a
    redrive of its endpoint runs; `RecordNotFoundError`.
    """
    deadline = deadline or Deadline.after(found.settings.webhook_deadline_seconds)
    refuse_while_blocked(found.publisher)
    store = found.store
    endpoint = store.get_endpoint(store.get_job(job_id).endpoint_id)
    with failed_queue_turn(store, endpoint):
        job = store.reset_for_retry(job_id)
        try:
            moved = retry_parked(found.settings, endpoint.name, str(job_id))
            if moved:
                _mark_queued(found, job_id)
            else:
                publish = partial(found.publisher.publish_jobs, attempt=job.attempts + 1)
                publish_recorded(store, publish, [job], {endpoint.id: endpoint.name},
                                 deadline=deadline)
        except (BrokerError, DeadlineExceededError) as exc:  # the job is failed again
            store.mark_publish_failed([job_id], f"could not queue the job: {exc}")
            reason = unavailable_reason(exc)
            log.warning("job not queued", job_id=job_id, reason=reason, error=str(exc))
            raise NotQueuedError(f"job {job_id} could not be queued: {exc}",
                                 reason=reason) from exc
    log.info("job retried", job_id=job_id, parked_copies=moved)
    return store.get_job(job_id)


def _mark_queued(found: Services, job_id: int) -> None:
    try:
        found.store.mark_queued([job_id])
    except CrossdockError as exc:  # moved all the same; the sweeper may publish it again
        log.warning("job moved back to work but not marked queued", job_id=job_id,
                    error=str(exc))
