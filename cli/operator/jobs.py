"""Jobs and executions: list, show, log, retry."""

from __future__ import annotations

import click

from cli import tables
from cli.api_client import ApiClient, Json
from cli.operator.common import (
    ID,
    WholeNumber,
    api_command,
    api_group,
    call,
    emit,
    json_option,
    stamps,
)
from shared.kinds import ExecutionStatus, JobStatus

# -- jobs and executions ----------------------------------------------------------------

jobs_group = api_group("jobs", "Replication jobs: one action for one image.")
executions_group = api_group("executions", "Executions: runs of rules (initial, manual, "
                                           "scheduled).")
LIMIT = click.option("--limit", type=WholeNumber(1, 1000), metavar="N",
                     help="Show at most N, newest first (default: 100).")


def image_text(job: Json) -> str:
    """``repo:tag``, ``repo@sha256:0123456789ab`` or ``repo``."""
    name = str(job.get("repository", ""))
    if job.get("tag"):
        return f"{name}:{job['tag']}"
    if job.get("digest"):
        return f"{name}@{str(job['digest'])[:19]}"
    return name


def job_text(job: Json) -> str:
    return tables.details([
        ("id", job.get("id")),
        ("status", job.get("status")),
        ("action", job.get("action")),
        ("rule", job.get("rule") or job.get("rule_id")),
        ("endpoint", job.get("endpoint") or job.get("endpoint_id")),
        ("execution", job.get("execution_id")),
        ("repository", job.get("repository")),
        ("tag", job.get("tag")),
        ("digest", job.get("digest")),
        ("attempts", job.get("attempts")),
        ("error", job.get("error")),
        *stamps(job, "created_at", "started_at", "finished_at", "updated_at"),
    ])


@jobs_group.command("list")
@click.option("--rule", metavar="RULE", help="Only this rule's jobs (name or id).")
@click.option("--endpoint", metavar="ENDPOINT", help="Only jobs for this endpoint (name or id).")
@click.option("--status", type=click.Choice([s.value for s in JobStatus]))
@click.option("--execution", type=ID, metavar="ID", help="Only this execution's jobs.")
@LIMIT
@json_option
@api_command
def jobs_list(api: ApiClient, rule: str | None, endpoint: str | None, status: str | None,
              execution: int | None, limit: int | None, as_json: bool) -> None:
    """List jobs, newest first."""
    answer = call(lambda: api.list_jobs(rule=rule, endpoint=endpoint, status=status,
                                        execution=execution, limit=limit))
    items = answer.get("items", [])
    emit(as_json, answer, lambda: tables.table(
        ["ID", "STATUS", "ACTION", "RULE", "ENDPOINT", "IMAGE", "ATTEMPTS", "UPDATED", "ERROR"],
        [[j["id"], j.get("status"), j.get("action"), j.get("rule"), j.get("endpoint"),
          image_text(j), j.get("attempts"), tables.when(j.get("updated_at")),
          tables.truncate(j.get("error"))] for j in items]))


@jobs_group.command("show")
@click.argument("job_id", metavar="ID", type=ID)
@json_option
@api_command
def jobs_show(api: ApiClient, job_id: int, as_json: bool) -> None:
    """Show the job ID, with its complete error."""
    job = call(lambda: api.get_job(job_id))
    emit(as_json, job, lambda: job_text(job))


@jobs_group.command("log")
@click.argument("job_id", metavar="ID", type=ID)
@json_option
@api_command
def jobs_log(api: ApiClient, job_id: int, as_json: bool) -> None:
    """Print the log of the job ID, oldest line first."""
    found = call(lambda: api.job_log(job_id))
    lines = found.get("lines", [])
    emit(as_json, found, lambda: "\n".join(
        f"{tables.when(line.get('at'))}  {line.get('level', ''):<7}  {line.get('message', '')}"
        for line in lines) if lines else f"(job {job_id} has no log lines yet)")


@jobs_group.command("retry")
@click.argument("job_id", metavar="ID", type=ID)
@json_option
@api_command
def jobs_retry(api: ApiClient, job_id: int, as_json: bool) -> None:
    """Retry the failed job ID: back to pending, its message moved from the failed
    queue back to work (or queued again if none is parked)."""
    job = call(lambda: api.retry_job(job_id))
    emit(as_json, job, lambda: f"job {job_id} queued again ({job.get('status')})")


@executions_group.command("list")
@click.option("--rule", metavar="RULE", help="Only this rule's executions (name or id).")
@click.option("--status", type=click.Choice([s.value for s in ExecutionStatus]))
@LIMIT
@json_option
@api_command
def executions_list(api: ApiClient, rule: str | None, status: str | None, limit: int | None,
                    as_json: bool) -> None:
    """List executions, newest first."""
    answer = call(lambda: api.list_executions(rule=rule, status=status, limit=limit))
    items = answer.get("items", [])
    emit(as_json, answer, lambda: tables.table(
        ["ID", "RULE", "TRIGGER", "STATUS", "IMAGES", "SUCCEEDED", "FAILED", "SKIPPED",
         "IN PROGRESS", "STARTED", "TOOK"],
        [[e["id"], e.get("rule") or e.get("rule_id"), e.get("trigger"), e.get("status"),
          e.get("total"), e.get("succeeded"), e.get("failed"), e.get("skipped"),
          e.get("in_progress"), tables.when(e.get("started_at")),
          tables.duration(e.get("started_at"), e.get("finished_at"))] for e in items]))


@executions_group.command("show")
@click.argument("execution_id", metavar="ID", type=ID)
@json_option
@api_command
def executions_show(api: ApiClient, execution_id: int, as_json: bool) -> None:
    """Show the execution ID with its counts."""
    execution = call(lambda: api.get_execution(execution_id))
    emit(as_json, execution, lambda: tables.details([
        ("id", execution.get("id")),
        ("rule", execution.get("rule") or execution.get("rule_id")),
        ("trigger", execution.get("trigger")),
        ("status", execution.get("status")),
        ("images", execution.get("total")),
        ("succeeded", execution.get("succeeded")),
        ("failed", execution.get("failed")),
        ("skipped", execution.get("skipped")),
        ("in progress", execution.get("in_progress")),
        *stamps(execution, "started_at", "finished_at"),
        ("took", tables.duration(execution.get("started_at"), execution.get("finished_at"))),
        ("jobs", f"crossdock jobs list --execution {execution_id}"),
    ]))


