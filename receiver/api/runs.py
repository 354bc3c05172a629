"""Starting executions: ``/rules/<name>/enable``, ``/disable``, ``/run``. The work is
`receiver.services.rules` and `receiver.services.executions`.

Enabling starts an ``initial`` execution, run a ``manual`` one. Both answer within
``webhook_deadline_seconds``: a broker that is blocked (before anything changes),
times out or is unreachable gives 503 with the reason, and the execution's sync
job is failed with it (retry it, or run the rule again).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from receiver.api.common import answer, describe, empty, load_body
from receiver.api.rule_schemas import rule_out
from receiver.errors import unavailable_response
from receiver.services import current_services, rules
from receiver.services.executions import Started
from receiver.services.lookup import rule_named
from shared.deadline import Deadline
from shared.store import RuleRecord

blueprint = Blueprint("runs", __name__)


Names = tuple[dict[int, str], dict[int, str]]


def registry_names() -> Names:
    """Source and endpoint names by id, for answering many rules."""
    store = current_services().store
    return ({s.id: s.name for s in store.list_sources()},
            {e.id: e.name for e in store.list_endpoints()})


def rule_answer(rule: RuleRecord, names: Names | None = None, **extra: Any) -> dict[str, Any]:
    """A rule as answered: its source and endpoint by name."""
    store = current_services().store
    sources, endpoints = names or ({}, {})
    payload: dict[str, Any] = rule_out.dump({
        **rule.__dict__,
        "source": sources.get(rule.source_id) or store.get_source(rule.source_id).name,
        "endpoint": endpoints.get(rule.endpoint_id) or store.get_endpoint(rule.endpoint_id).name,
        **extra,
    })
    return payload


def _not_queued_warning(started: Started) -> str:
    return f"{started.error}; retry it later with POST /api/v1/rules/<name>/run"


def started_fields(started: Started | None) -> dict[str, Any]:
    """What a rule's answer says about the execution the request started."""
    if started is None:
        return {}
    if started.queued:
        return {"execution_id": started.execution_id}
    return {"execution_id": started.execution_id, "warning": _not_queued_warning(started)}


def _not_queued(started: Started) -> Response:
    """503 for an execution whose sync job was not queued (the job is failed)."""
    return unavailable_response(started.reason or "unreachable", _not_queued_warning(started),
                                execution_id=started.execution_id)


@blueprint.post("/rules/<name>/enable")
@describe("Enable a rule; a disabled one starts an initial sync (503: enabled, but the "
          "sync could not be queued)", body=empty, response=rule_out, errors=(404, 503))
def enable(name: str) -> Response:
    found = current_services()
    deadline = Deadline.after(found.settings.webhook_deadline_seconds)
    load_body(empty, empty_ok=True)
    change = rules.enable_rule(found, rule_named(found.store, name), deadline)
    if change.started is not None and not change.started.queued:
        return _not_queued(change.started)
    return answer(rule_answer(change.rule, **started_fields(change.started)))


@blueprint.post("/rules/<name>/disable")
@describe("Disable a rule: new events are ignored, queued jobs are skipped", body=empty,
          response=rule_out, errors=(404,))
def disable(name: str) -> Response:
    found = current_services()
    load_body(empty, empty_ok=True)
    return answer(rule_answer(rules.disable_rule(found, rule_named(found.store, name))))


@blueprint.post("/rules/<name>/run")
@describe("Run a rule now: a manual execution replicating the whole project", body=empty,
          response=rule_out, errors=(404, 409, 503))
def run(name: str) -> Response:
    found = current_services()
    deadline = Deadline.after(found.settings.webhook_deadline_seconds)
    load_body(empty, empty_ok=True)
    rule = rule_named(found.store, name)
    started = rules.run_rule(found, rule, deadline)
    if not started.queued:
        return _not_queued(started)
    return answer(rule_answer(rule, execution_id=started.execution_id))
