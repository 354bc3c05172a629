"""Endpoints: the registries crossdock writes to. ``/endpoints[/<name>[/redrive]]``."""

from __future__ import annotations

from typing import Any

import structlog
from flask import Blueprint, Response
from marshmallow import Schema, fields

from receiver.api.common import MAX_INT, answer, describe, empty, load_body, unavailable
from receiver.api.link_schemas import warnings_field
from receiver.api.lookalikes import endpoint_warnings
from receiver.api.lookup import endpoint_named
from receiver.api.schemas import (
    EndpointSchema,
    endpoint_create,
    endpoint_out,
    endpoint_patch,
)
from receiver.api.turns import failed_queue_turn
from receiver.app import services
from shared.broker import (
    BrokerError,
    ParkedMessage,
    delete_topology,
    endpoint_queue_names,
    redrive_failed,
)
from shared.store import ConflictError, EndpointRecord, RecordNotFoundError

blueprint = Blueprint("endpoints", __name__)
log = structlog.get_logger("crossdock.receiver")


class EndpointListSchema(Schema):
    items = fields.List(fields.Nested(EndpointSchema))


class EndpointChangedSchema(EndpointSchema):
    """An endpoint as answered to the request that created or changed it."""

    warnings = warnings_field()


def _dump(endpoint: EndpointRecord) -> dict[str, Any]:
    payload: dict[str, Any] = endpoint_out.dump(endpoint)
    warnings = endpoint_warnings(endpoint)
    if warnings:
        payload["warnings"] = warnings
    return payload


class RedriveSchema(Schema):
    endpoint = fields.String()
    moved = fields.Integer(metadata={"description": "Messages moved back to the work queue"})
    jobs_reset = fields.Integer(metadata={"description": "Failed jobs set back to pending"})


@blueprint.post("/endpoints")
@describe("Create an endpoint", body=endpoint_create, response=EndpointChangedSchema(),
          status=201, errors=(400, 409))
def create() -> Response:
    data = load_body(endpoint_create)
    endpoint = services().store.create_endpoint(**data)
    log.info("endpoint created", endpoint=endpoint.name, url=endpoint.url)
    return answer(_dump(endpoint), 201)


@blueprint.get("/endpoints")
@describe("List endpoints", response=EndpointListSchema())
def index() -> Response:
    return answer({"items": endpoint_out.dump(services().store.list_endpoints(), many=True)})


@blueprint.get("/endpoints/<name>")
@describe("Show an endpoint", response=endpoint_out, errors=(404,))
def show(name: str) -> Response:
    return answer(endpoint_out.dump(endpoint_named(name)))


@blueprint.patch("/endpoints/<name>")
@describe("Change an endpoint (not its name); null removes username, password, CA bundle",
          body=endpoint_patch, response=EndpointChangedSchema(), errors=(400, 404))
def update(name: str) -> Response:
    endpoint = endpoint_named(name)
    data = load_body(endpoint_patch, partial=True)
    updated = services().store.update_endpoint(endpoint.id, **data)
    services().endpoints.clear()  # this process's webhook path sees the change at once
    log.info("endpoint changed", endpoint=name, fields=sorted(data))
    return answer(_dump(updated))


@blueprint.delete("/endpoints/<name>")
@describe("Delete an endpoint, its job history and its RabbitMQ queues with their "
          "messages (409 while a rule uses it; 503 when RabbitMQ is unreachable)",
          status=204, errors=(404, 409, 503))
def delete(name: str) -> Response:
    """The store's record goes first (then no consumer takes the endpoint up again),
    then its queues, those of every retry and defer delay ever used included; its
    jobs went with the record, so their messages are orphans. RabbitMQ unreachable:
    nothing is deleted. Lost half-way: the record is gone and the 503 names the
    queues left."""
    found = services()
    endpoint = endpoint_named(name)
    delays = found.store.queue_delays()
    deleted = False

    def delete_record() -> None:
        nonlocal deleted
        found.store.delete_endpoint(endpoint.id)
        deleted = True
        found.endpoints.clear()
        found.publisher.forget_endpoint(endpoint.name)

    try:
        dropped = delete_topology(found.settings, endpoint.name, retry_delays=delays.retry,
                                  defer_seconds=delays.defer, before_delete=delete_record)
    except BrokerError as exc:
        if not deleted:
            return unavailable(f"endpoint {name} was not deleted: {exc}")
        queues = ", ".join(endpoint_queue_names(found.settings, endpoint.name, delays.retry,
                                               delays.defer))
        log.error("endpoint deleted, but not all of its queues", endpoint=name, error=str(exc))
        return unavailable(f"endpoint {name} was deleted, but not all of its queues ({exc}); "
                           f"delete those left with rabbitmqctl delete_queue <name>: {queues}")
    log.info("endpoint deleted", endpoint=name, messages_dropped=dropped)
    return Response(status=204)


@blueprint.post("/endpoints/<name>/redrive")
@describe("Move every message of the endpoint's failed queue back to its work queue "
          "(each keeps its attempt and starts a new round); their failed jobs go back to "
          "pending (409 while a job retry or another redrive of the endpoint runs)",
          body=empty, response=RedriveSchema(), errors=(400, 404, 409, 503))
def redrive(name: str) -> Response:
    load_body(empty, empty_ok=True)
    endpoint = endpoint_named(name)
    store = services().store
    reset = 0

    def before_move(message: ParkedMessage) -> None:
        nonlocal reset
        job_id = message.message_id or ""
        if not (job_id.isdecimal() and job_id.isascii() and int(job_id) <= MAX_INT):
            return  # not one of ours: moved anyway, the consumer parks what it can't read
        try:
            store.reset_for_retry(int(job_id))
            reset += 1
        except (ConflictError, RecordNotFoundError):
            pass  # already retried, or its rule is gone (the consumer drops it)

    try:
        with failed_queue_turn(store, endpoint):
            moved = redrive_failed(services().settings, endpoint.name, before_move)
    except BrokerError as exc:
        return unavailable(f"redrive stopped ({exc}); call it again to move the rest")
    log.info("failed queue redriven", endpoint=name, moved=moved, jobs_reset=reset)
    return answer({"endpoint": endpoint.name, "moved": moved, "jobs_reset": reset})
