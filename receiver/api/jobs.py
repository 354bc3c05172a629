"""Replication jobs: the list, one job, its log, and retrying a failed one.
``/jobs[/<id>[/log|/retry]]``. The work is `receiver.services.jobs`.

The list pages by key: ``before=<id>`` gives the jobs older than that one, and
every answer's ``next_before`` is the cursor of the next page (null on the last).
``offset`` still works, but costs more the deeper it goes.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from receiver.api.common import ID, answer, describe, empty, load_body, load_query
from receiver.api.job_schemas import (
    JobListSchema,
    job_log_out,
    job_out,
    job_query,
)
from receiver.errors import unavailable_response
from receiver.services import current_services, jobs
from receiver.services.errors import NotQueuedError
from receiver.services.lookup import endpoint_id_of, rule_id_of
from shared.deadline import Deadline
from shared.store import JobRecord

blueprint = Blueprint("jobs", __name__)


def _dump(job: JobRecord, rules: dict[int, str], endpoints: dict[int, str]) -> dict[str, Any]:
    payload: dict[str, Any] = job_out.dump({
        **job.__dict__, "rule": rules.get(job.rule_id), "endpoint": endpoints.get(job.endpoint_id),
    })
    return payload


def _names() -> tuple[dict[int, str], dict[int, str]]:
    store = current_services().store
    return ({r.id: r.name for r in store.list_rules()},
            {e.id: e.name for e in store.list_endpoints()})


def _dump_one(job: JobRecord) -> dict[str, Any]:
    return _dump(job, *_names())


@blueprint.get("/jobs")
@describe("List jobs, newest first (before=<id> for the page after next_before); rule and "
          "endpoint by name or id", query=job_query, response=JobListSchema(), errors=(400,))
def index() -> Response:
    query = load_query(job_query)
    found = current_services()
    page = jobs.list_jobs(
        found,
        rule_id=rule_id_of(found.store, query["rule"]) if "rule" in query else None,
        endpoint_id=(endpoint_id_of(found.store, query["endpoint"])
                     if "endpoint" in query else None),
        status=query.get("status"),
        execution_id=query.get("execution"),
        limit=query["limit"],
        offset=query["offset"],
        before=query.get("before"),
    )
    rules, endpoints = _names()
    return answer({"items": [_dump(job, rules, endpoints) for job in page.items],
                   "limit": query["limit"], "offset": query["offset"],
                   "next_before": page.next_before})


@blueprint.get(f"/jobs/<{ID}:job_id>")
@describe("Show a job", response=job_out, errors=(404,))
def show(job_id: int) -> Response:
    return answer(_dump_one(current_services().store.get_job(job_id)))


@blueprint.get(f"/jobs/<{ID}:job_id>/log")
@describe("A job's log lines, oldest first", response=job_log_out, errors=(404,))
def job_log(job_id: int) -> Response:
    lines = current_services().store.job_log(job_id)
    return answer(job_log_out.dump({"job_id": job_id, "lines": lines}))


@blueprint.post(f"/jobs/<{ID}:job_id>/retry")
@describe("Retry a failed job: back to pending, its parked message moved from the failed "
          "queue back to work (a new one queued if none is parked); 409 unless failed, or "
          "while a redrive of its endpoint runs",
          body=empty, response=job_out, errors=(404, 409, 503))
def retry(job_id: int) -> Response:
    """See `receiver.services.jobs.retry_job`: a failed move or publish fails the job
    again with the reason (503 says it)."""
    found = current_services()
    deadline = Deadline.after(found.settings.webhook_deadline_seconds)
    load_body(empty, empty_ok=True)
    try:
        job = jobs.retry_job(found, job_id, deadline)
    except NotQueuedError as exc:
        return unavailable_response(exc.reason, str(exc))
    return answer(_dump_one(job))
