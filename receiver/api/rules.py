"""Replication rules: ``/rules[/<name>]``. The work is `receiver.services.rules`.

A rule's endpoint is an existing endpoint's name, or an endpoint object created
with the rule (Harbor's "New Endpoint"): if the rule then cannot be recorded,
the new endpoint is deleted again. Creating an enabled rule, or enabling one
through PATCH, starts an initial sync (see `runs`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from receiver.api.common import answer, describe, load_body
from receiver.api.link_schemas import warnings_field
from receiver.api.rule_schemas import (
    RuleListSchema,
    RuleSchema,
    rule_create,
    rule_out,
    rule_patch,
)
from receiver.api.runs import registry_names, rule_answer, started_fields
from receiver.services import current_services, rules
from receiver.services.lookup import rule_named

blueprint = Blueprint("rules", __name__)


class RuleChangedSchema(RuleSchema):
    """A rule as answered to the request that created or changed it."""

    warnings = warnings_field()


rule_changed = RuleChangedSchema()


def _changed_answer(change: rules.RuleChange) -> dict[str, Any]:
    payload = rule_answer(change.rule, **started_fields(change.started))
    if change.warnings:
        payload["warnings"] = change.warnings
    return payload


@blueprint.post("/rules")
@describe("Create a rule (and, given an object as endpoint, its endpoint); an enabled "
          "rule starts an initial sync", body=rule_create, response=rule_changed, status=201,
          errors=(400, 409))
def create() -> Response:
    data = load_body(rule_create)
    return answer(_changed_answer(rules.create_rule(current_services(), data)), 201)


@blueprint.get("/rules")
@describe("List rules", response=RuleListSchema())
def index() -> Response:
    names = registry_names()
    return answer({"items": [rule_answer(rule, names)
                             for rule in current_services().store.list_rules()]})


@blueprint.get("/rules/<name>")
@describe("Show a rule", response=rule_out, errors=(404,))
def show(name: str) -> Response:
    return answer(rule_answer(rule_named(current_services().store, name)))


@blueprint.patch("/rules/<name>")
@describe("Change a rule; enabling it starts an initial sync", body=rule_patch,
          response=rule_changed, errors=(400, 404, 409))
def update(name: str) -> Response:
    found = current_services()
    rule = rule_named(found.store, name)
    data = load_body(rule_patch, partial=True)
    return answer(_changed_answer(rules.update_rule(found, rule, data)))


@blueprint.delete("/rules/<name>")
@describe("Delete a rule with its executions and jobs", status=204, errors=(404,))
def delete(name: str) -> Response:
    found = current_services()
    rules.delete_rule(found, rule_named(found.store, name))
    return Response(status=204)
