"""Starting executions: ``/rules/<name>/enable``, ``/disable``, ``/run``.

An execution is one `sync` job for the rule's project, recorded and published
through `shared.dispatch.dispatch`; the consumer lists the project at the source
and queues one replicate job per image. Enabling starts an ``initial`` one, run
a ``manual`` one.

Both answer within ``webhook_deadline_seconds``: a broker that is blocked (before
anything changes), times out or is unreachable gives 503 with the reason, and the
execution's sync job is failed with it (retry it, or run the rule again).
"""

from __future__ import annotations

from typing import Any

import structlog
from flask import Blueprint, Response

from receiver.api.common import answer, describe, empty, load_body
from receiver.api.lookup import rule_named
from receiver.api.rule_schemas import rule_out
from receiver.app import services
from receiver.errors import unavailable_reason, unavailable_response
from shared.deadline import Deadline
from shared.dispatch import ExecutionNotQueuedError
from shared.dispatch import start_execution as dispatch_execution
from shared.store import ConflictError, ExecutionTrigger, RuleRecord

blueprint = Blueprint("runs", __name__)
log = structlog.get_logger("crossdock.receiver")


Names = tuple[dict[int, str], dict[int, str]]


def registry_names() -> Names:
    """Source and endpoint names by id, for answering many rules."""
    store = services().store
    return ({s.id: s.name for s in store.list_sources()},
            {e.id: e.name for e in store.list_endpoints()})


def rule_answer(rule: RuleRecord, names: Names | None = None, **extra: Any) -> dict[str, Any]:
    """A rule as answered: its source and endpoint by name."""
    store = services().store
    sources, endpoints = names or ({}, {})
    payload: dict[str, Any] = rule_out.dump({
        **rule.__dict__,
        "source": sources.get(rule.source_id) or store.get_source(rule.source_id).name,
        "endpoint": endpoints.get(rule.endpoint_id) or store.get_endpoint(rule.endpoint_id).name,
        **extra,
    })
    return payload


def start_execution(rule: RuleRecord, trigger: ExecutionTrigger,
                    deadline: Deadline | None = None) -> dict[str, Any]:
    """Start an execution of `rule` (`shared.dispatch.start_execution`), within
    `deadline` (by default ``webhook_deadline_seconds`` from now).

    Returns ``{"execution_id"}``, plus ``"warning"`` and ``"reason"`` when the broker
    did not take the sync job (the job is then failed, so it can be retried). Store
    errors and `DeadlineExceededError` before the execution is recorded raise.
    """
    found = services()
    try:
        execution, job = dispatch_execution(
            found.store, found.publisher.publish_jobs, rule, trigger,
            deadline=deadline or Deadline.after(found.settings.webhook_deadline_seconds))
    except ExecutionNotQueuedError as exc:
        reason = unavailable_reason(exc)
        log.warning("execution not queued", rule=rule.name, execution=exc.execution_id,
                    reason=reason, error=str(exc))
        return {"execution_id": exc.execution_id, "reason": reason,
                "warning": f"{exc}; retry it later with POST /api/v1/rules/<name>/run"}
    log.info("execution started", rule=rule.name, execution=execution.id, job=job.id,
             trigger=str(trigger))
    return {"execution_id": execution.id}


def blocked() -> Response | None:
    """503 ``blocked`` when RabbitMQ is known to refuse publishes (a resource alarm)."""
    if not services().publisher.blocked:
        return None
    return unavailable_response("blocked", "RabbitMQ is blocking publishes (a resource "
                                           "alarm): nothing was changed, try again later")


def not_queued(started: dict[str, Any]) -> Response:
    """503 for an execution whose sync job was not queued (the job is failed)."""
    return unavailable_response(started["reason"], started["warning"],
                                execution_id=started["execution_id"])


@blueprint.post("/rules/<name>/enable")
@describe("Enable a rule; a disabled one starts an initial sync (503: enabled, but the "
          "sync could not be queued)", body=empty, response=rule_out, errors=(404, 503))
def enable(name: str) -> Response:
    deadline = Deadline.after(services().settings.webhook_deadline_seconds)
    load_body(empty, empty_ok=True)
    rule = rule_named(name)
    if rule.enabled:
        return answer(rule_answer(rule))
    refused = blocked()
    if refused is not None:
        return refused
    rule = services().store.update_rule(rule.id, enabled=True)
    started = start_execution(rule, ExecutionTrigger.INITIAL, deadline)
    if "warning" in started:
        return not_queued(started)
    return answer(rule_answer(rule, **started))


@blueprint.post("/rules/<name>/disable")
@describe("Disable a rule: new events are ignored, queued jobs are skipped", body=empty,
          response=rule_out, errors=(404,))
def disable(name: str) -> Response:
    load_body(empty, empty_ok=True)
    rule = services().store.update_rule(rule_named(name).id, enabled=False)
    log.info("rule disabled", rule=name)
    return answer(rule_answer(rule))


@blueprint.post("/rules/<name>/run")
@describe("Run a rule now: a manual execution replicating the whole project", body=empty,
          response=rule_out, errors=(404, 409, 503))
def run(name: str) -> Response:
    deadline = Deadline.after(services().settings.webhook_deadline_seconds)
    load_body(empty, empty_ok=True)
    rule = rule_named(name)
    if not rule.enabled:
        raise ConflictError(f"rule {name!r} is disabled: enable it (which also runs it)")
    refused = blocked()
    if refused is not None:
        return refused
    started = start_execution(rule, ExecutionTrigger.MANUAL, deadline)
    if "warning" in started:
        return not_queued(started)
    return answer(rule_answer(rule, **started))
