"""Replication jobs: the list, one job, its log, and retrying a failed one.
``/jobs[/<id>[/log|/retry]]``."""

from __future__ import annotations

from functools import partial
from typing import Any

import structlog
from flask import Blueprint, Response

from receiver.api.common import ID, answer, describe, empty, load_body, load_query
from receiver.api.job_schemas import (
    JobListSchema,
    job_log_out,
    job_out,
    job_query,
)
from receiver.api.lookup import endpoint_id_of, rule_id_of
from receiver.api.runs import blocked
from receiver.api.turns import failed_queue_turn
from receiver.app import services
from receiver.errors import unavailable_reason, unavailable_response
from shared.broker import BrokerError, retry_parked
from shared.deadline import Deadline, DeadlineExceededError
from shared.dispatch import publish_recorded
from shared.errors import CrossdockError
from shared.store import JobRecord

blueprint = Blueprint("jobs", __name__)
log = structlog.get_logger("crossdock.receiver")


def _dump(job: JobRecord, rules: dict[int, str], endpoints: dict[int, str]) -> dict[str, Any]:
    payload: dict[str, Any] = job_out.dump({
        **job.__dict__, "rule": rules.get(job.rule_id), "endpoint": endpoints.get(job.endpoint_id),
    })
    return payload


def _names() -> tuple[dict[int, str], dict[int, str]]:
    store = services().store
    return ({r.id: r.name for r in store.list_rules()},
            {e.id: e.name for e in store.list_endpoints()})


def _dump_one(job: JobRecord) -> dict[str, Any]:
    return _dump(job, *_names())


@blueprint.get("/jobs")
@describe("List jobs, newest first; rule and endpoint by name or id", query=job_query,
          response=JobListSchema(), errors=(400,))
def index() -> Response:
    query = load_query(job_query)
    found = services().store.list_jobs(
        rule_id=rule_id_of(query["rule"]) if "rule" in query else None,
        endpoint_id=endpoint_id_of(query["endpoint"]) if "endpoint" in query else None,
        status=query.get("status"),
        execution_id=query.get("execution"),
        limit=query["limit"],
        offset=query["offset"],
    )
    rules, endpoints = _names()
    return answer({"items": [_dump(job, rules, endpoints) for job in found],
                   "limit": query["limit"], "offset": query["offset"]})


@blueprint.get(f"/jobs/<{ID}:job_id>")
@describe("Show a job", response=job_out, errors=(404,))
def show(job_id: int) -> Response:
    return answer(_dump_one(services().store.get_job(job_id)))


@blueprint.get(f"/jobs/<{ID}:job_id>/log")
@describe("A job's log lines, oldest first", response=job_log_out, errors=(404,))
def job_log(job_id: int) -> Response:
    lines = services().store.job_log(job_id)
    return answer(job_log_out.dump({"job_id": job_id, "lines": lines}))


@blueprint.post(f"/jobs/<{ID}:job_id>/retry")
@describe("Retry a failed job: back to pending, its parked message moved from the failed "
          "queue back to work (a new one queued if none is parked); 409 unless failed, or "
          "while a redrive of its endpoint runs",
          body=empty, response=job_out, errors=(404, 409, 503))
def retry(job_id: int) -> Response:
    """The job's parked message goes back to work as a redrive moves it (keeping its
    attempt, starting a new round), so the failed queue shows only failed jobs; any
    other copy parked is dropped. With none parked (its publish failed, or the queue
    was purged) a new message runs as the job's next attempt, published within
    ``webhook_deadline_seconds``. A blocked broker is refused before the job changes;
    a failed move or publish fails the job again with the reason (503 says it)."""
    found = services()
    deadline = Deadline.after(found.settings.webhook_deadline_seconds)
    load_body(empty, empty_ok=True)
    refused = blocked()
    if refused is not None:
        return refused
    store = found.store
    endpoint = store.get_endpoint(store.get_job(job_id).endpoint_id)
    with failed_queue_turn(store, endpoint):
        job = store.reset_for_retry(job_id)
        try:
            moved = retry_parked(found.settings, endpoint.name, str(job_id))
            if moved:
                _mark_queued(job_id)
            else:
                publish = partial(found.publisher.publish_jobs, attempt=job.attempts + 1)
                publish_recorded(store, publish, [job], {endpoint.id: endpoint.name},
                                 deadline=deadline)
        except (BrokerError, DeadlineExceededError) as exc:  # the job is failed again
            store.mark_publish_failed([job_id], f"could not queue the job: {exc}")
            reason = unavailable_reason(exc)
            log.warning("job not queued", job_id=job_id, reason=reason, error=str(exc))
            return unavailable_response(reason, f"job {job_id} could not be queued: {exc}")
    log.info("job retried", job_id=job_id, parked_copies=moved)
    return answer(_dump_one(store.get_job(job_id)))


def _mark_queued(job_id: int) -> None:
    try:
        services().store.mark_queued([job_id])
    except CrossdockError as exc:  # moved all the same; the sweeper may publish it again
        log.warning("job moved back to work but not marked queued", job_id=job_id,
                    error=str(exc))
