"""Replication Jobs: executions (initial, manual, scheduled) with their progress,
and jobs, newest first, paged by key (``before=<job id>``), filtered by rule,
execution and status; each job's log; Retry on a failed job.

The page's lists are one fragment (``console/jobs/_table.html``) that the page
includes. While an execution or job shown is unfinished the fragment carries
``hx-get`` and ``hx-trigger="every 3s"`` and replaces itself (``outerHTML``);
once all are finished it is rendered without them, and the polling stops.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, request, url_for
from werkzeug.wrappers import Response

from receiver.console.context import app_services, store
from receiver.console.htmx import redirect_to, render
from receiver.services.errors import NotQueuedError, field_error
from receiver.services.executions import list_executions
from receiver.services.jobs import list_jobs, retry_job
from receiver.services.lookup import rule_named
from shared.store import ConflictError, JobStatus, RuleRecord

blueprint = Blueprint("jobs", __name__, url_prefix="/jobs")

PAGE_SIZE = 50
EXECUTIONS_SHOWN = 5
POLL_SECONDS = 3


def _status() -> JobStatus | None:
    value = request.args.get("status", "")
    if not value:
        return None
    try:
        return JobStatus(value)
    except ValueError:
        raise field_error("status", f"Not a job status: {value!r}.") from None


def _number(name: str) -> int | None:
    value = request.args.get(name, type=int)
    if value is not None and value < 1:
        raise field_error(name, "Must be a positive number.")
    return value


def _filters() -> dict[str, Any]:
    rule_name = request.args.get("rule", "")
    rule: RuleRecord | None = rule_named(store(), rule_name) if rule_name else None
    return {"rule": rule, "status": _status(), "execution_id": _number("execution"),
            "before": _number("before")}


@blueprint.get("/")
def index() -> Response:
    chosen = _filters()
    found = app_services()
    rule: RuleRecord | None = chosen["rule"]
    rule_id = rule.id if rule else None
    jobs = list_jobs(found, rule_id=rule_id, status=chosen["status"],
                     execution_id=chosen["execution_id"], limit=PAGE_SIZE,
                     before=chosen["before"])
    executions = list_executions(found, rule_id=rule_id, limit=EXECUTIONS_SHOWN).items
    rule_names = store().rule_names([*(job.rule_id for job in jobs.items),
                                     *(execution.rule_id for execution in executions)])
    polling = chosen["before"] is None and (
        any(not execution.status.finished for execution in executions)
        or any(not job.status.finished for job in jobs.items))
    here = {"rule": rule.name if rule else None,
            "status": chosen["status"].value if chosen["status"] else None,
            "execution": chosen["execution_id"]}
    return render("console/jobs/index.html", "console/jobs/_table.html", jobs=jobs.items,
                  next_before=jobs.next_before, executions=executions, rule=rule,
                  rule_names=rule_names, filters=here, statuses=list(JobStatus),
                  polling=polling, poll_seconds=POLL_SECONDS,
                  self_url=url_for(".index", before=chosen["before"], **here))


@blueprint.get("/<int:job_id>/log")
def log(job_id: int) -> Response:
    job = store().get_job(job_id)
    return render("console/jobs/log.html", job=job, lines=store().job_log(job_id),
                  rule_name=store().get_rule(job.rule_id).name)


def _back() -> str:
    """Where the Retry form came from, when that is a console page."""
    back = request.form.get("next", "")
    if back.startswith("/ui/") and not back.startswith("//"):
        return back
    return url_for(".index")


@blueprint.post("/<int:job_id>/retry")
def retry(job_id: int) -> Response:
    try:
        retry_job(app_services(), job_id)
    except (ConflictError, NotQueuedError) as exc:
        flash(f"Job {job_id} was not retried: {exc}", "error")
    else:
        flash(f"Job {job_id} is queued again.", "success")
    return redirect_to(_back())
