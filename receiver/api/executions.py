"""Executions: runs of rules, newest first. ``/executions[/<id>]``.

The list pages by key as the jobs list does: ``before=<id>`` and ``next_before``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from receiver.api.common import ID, answer, describe, load_query
from receiver.api.job_schemas import ExecutionListSchema, execution_out, execution_query
from receiver.services import current_services, executions
from receiver.services.lookup import rule_id_of
from shared.store import ExecutionRecord

blueprint = Blueprint("executions", __name__)


def _dump(execution: ExecutionRecord, rule_names: dict[int, str]) -> dict[str, Any]:
    payload: dict[str, Any] = execution_out.dump({
        **execution.__dict__,
        "rule": rule_names.get(execution.rule_id),
        "in_progress": execution.in_progress,
    })
    return payload


def _rule_names() -> dict[int, str]:
    return {rule.id: rule.name for rule in current_services().store.list_rules()}


@blueprint.get("/executions")
@describe("List executions, newest first (before=<id> for the page after next_before)",
          query=execution_query, response=ExecutionListSchema(), errors=(400,))
def index() -> Response:
    query = load_query(execution_query)
    found = current_services()
    rule_id = rule_id_of(found.store, query["rule"]) if "rule" in query else None
    page = executions.list_executions(
        found, rule_id=rule_id, status=query.get("status"), limit=query["limit"],
        offset=query["offset"], before=query.get("before"))
    names = _rule_names()
    return answer({"items": [_dump(e, names) for e in page.items], "limit": query["limit"],
                   "offset": query["offset"], "next_before": page.next_before})


@blueprint.get(f"/executions/<{ID}:execution_id>")
@describe("Show an execution with its counts", response=execution_out, errors=(404,))
def show(execution_id: int) -> Response:
    execution = current_services().store.get_execution(execution_id)
    return answer(_dump(execution, _rule_names()))
