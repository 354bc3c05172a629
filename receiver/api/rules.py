"""Replication rules: ``/rules[/<name>]``.

A rule's endpoint is an existing endpoint's name, or an endpoint object created
with the rule (Harbor's "New Endpoint"): if the rule then cannot be recorded,
the new endpoint is deleted again. Creating an enabled rule, or enabling one
through PATCH, starts an initial sync (see `runs`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import structlog
from flask import Blueprint, Response

from receiver.api.common import answer, describe, field_error, load_body
from receiver.api.link_schemas import warnings_field
from receiver.api.lookalikes import endpoint_warnings, rule_warnings
from receiver.api.lookup import rule_named, source_named
from receiver.api.rule_schemas import (
    RuleListSchema,
    RuleSchema,
    rule_create,
    rule_out,
    rule_patch,
)
from receiver.api.runs import registry_names, rule_answer, start_execution
from receiver.app import services
from shared.errors import CrossdockError
from shared.store import (
    ConflictError,
    EndpointRecord,
    ExecutionTrigger,
    RecordNotFoundError,
    RuleRecord,
)

blueprint = Blueprint("rules", __name__)
log = structlog.get_logger("crossdock.receiver")


class RuleChangedSchema(RuleSchema):
    """A rule as answered to the request that created or changed it."""

    warnings = warnings_field()


rule_changed = RuleChangedSchema()


def _changed_answer(rule: RuleRecord, warnings: list[str], **extra: Any) -> dict[str, Any]:
    payload = rule_answer(rule, **extra)
    if warnings:
        payload["warnings"] = warnings
    return payload


@contextmanager
def _endpoint(ref: str | dict[str, Any]) -> Iterator[EndpointRecord]:
    """The named endpoint, or a new one that is deleted again if the block fails."""
    store = services().store
    if isinstance(ref, str):
        try:
            existing = store.get_endpoint_by_name(ref)
        except RecordNotFoundError as exc:
            raise field_error("endpoint", f"No endpoint named {ref!r}.") from exc
        yield existing
        return
    created = store.create_endpoint(**ref)
    try:
        yield created
    except BaseException:
        with suppress(CrossdockError):
            store.delete_endpoint(created.id)
        raise
    log.info("endpoint created with a rule", endpoint=created.name, url=created.url)


def _new_endpoint_warnings(ref: str | dict[str, Any], endpoint: EndpointRecord) -> list[str]:
    """The look-alike warnings of an endpoint created with the rule (none for a name)."""
    return [] if isinstance(ref, str) else endpoint_warnings(endpoint)


def _rule_exists(name: str) -> bool:
    try:
        services().store.get_rule_by_name(name)
    except RecordNotFoundError:
        return False
    return True


def _source_id(name: str) -> int:
    try:
        return source_named(name).id
    except RecordNotFoundError as exc:
        raise field_error("source", f"No source named {name!r}.") from exc


@blueprint.post("/rules")
@describe("Create a rule (and, given an object as endpoint, its endpoint); an enabled "
          "rule starts an initial sync", body=rule_create, response=rule_changed, status=201,
          errors=(400, 409))
def create() -> Response:
    data = load_body(rule_create)
    store = services().store
    data["source_id"] = _source_id(data.pop("source"))
    if _rule_exists(data["name"]):  # checked before an inline endpoint is created
        raise ConflictError(f"a rule named {data['name']!r} already exists")
    ref = data.pop("endpoint")
    with _endpoint(ref) as endpoint:
        rule = store.create_rule(endpoint_id=endpoint.id, **data)
    log.info("rule created", rule=rule.name, enabled=rule.enabled)
    started = start_execution(rule, ExecutionTrigger.INITIAL) if rule.enabled else {}
    warnings = [*_new_endpoint_warnings(ref, endpoint), *rule_warnings(rule)]
    return answer(_changed_answer(rule, warnings, **started), 201)


@blueprint.get("/rules")
@describe("List rules", response=RuleListSchema())
def index() -> Response:
    names = registry_names()
    return answer({"items": [rule_answer(rule, names) for rule in services().store.list_rules()]})


@blueprint.get("/rules/<name>")
@describe("Show a rule", response=rule_out, errors=(404,))
def show(name: str) -> Response:
    return answer(rule_answer(rule_named(name)))


@blueprint.patch("/rules/<name>")
@describe("Change a rule; enabling it starts an initial sync", body=rule_patch,
          response=rule_changed, errors=(400, 404, 409))
def update(name: str) -> Response:
    rule = rule_named(name)
    data = load_body(rule_patch, partial=True)
    changed = sorted(data)
    if "source" in data:
        data["source_id"] = _source_id(data.pop("source"))
    store = services().store
    warnings: list[str] = []
    if "endpoint" in data:
        ref = data.pop("endpoint")
        with _endpoint(ref) as endpoint:
            updated = store.update_rule(rule.id, endpoint_id=endpoint.id, **data)
        warnings += _new_endpoint_warnings(ref, endpoint)
    else:
        updated = store.update_rule(rule.id, **data)
    log.info("rule changed", rule=updated.name, fields=changed)
    started: dict[str, Any] = {}
    if updated.enabled and not rule.enabled:
        started = start_execution(updated, ExecutionTrigger.INITIAL)
    return answer(_changed_answer(updated, warnings + rule_warnings(updated), **started))


@blueprint.delete("/rules/<name>")
@describe("Delete a rule with its executions and jobs", status=204, errors=(404,))
def delete(name: str) -> Response:
    services().store.delete_rule(rule_named(name).id)
    log.info("rule deleted", rule=name)
    return Response(status=204)
