"""Endpoints: the registries crossdock writes to. ``/endpoints[/<name>[/redrive]]``.
The work is `receiver.services.endpoints`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response
from marshmallow import Schema, fields

from receiver.api.common import answer, describe, empty, load_body, unavailable
from receiver.api.link_schemas import warnings_field
from receiver.api.schemas import (
    EndpointSchema,
    endpoint_create,
    endpoint_out,
    endpoint_patch,
)
from receiver.services import current_services, endpoints
from receiver.services.errors import QueuesUnavailableError
from receiver.services.lookup import endpoint_named

blueprint = Blueprint("endpoints", __name__)


class EndpointListSchema(Schema):
    items = fields.List(fields.Nested(EndpointSchema))


class EndpointChangedSchema(EndpointSchema):
    """An endpoint as answered to the request that created or changed it."""

    warnings = warnings_field()


def _dump(change: endpoints.EndpointChange) -> dict[str, Any]:
    payload: dict[str, Any] = endpoint_out.dump(change.endpoint)
    if change.warnings:
        payload["warnings"] = change.warnings
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
    return answer(_dump(endpoints.create_endpoint(current_services(), data)), 201)


@blueprint.get("/endpoints")
@describe("List endpoints", response=EndpointListSchema())
def index() -> Response:
    listed = current_services().store.list_endpoints()
    return answer({"items": endpoint_out.dump(listed, many=True)})


@blueprint.get("/endpoints/<name>")
@describe("Show an endpoint", response=endpoint_out, errors=(404,))
def show(name: str) -> Response:
    return answer(endpoint_out.dump(endpoint_named(current_services().store, name)))


@blueprint.patch("/endpoints/<name>")
@describe("Change an endpoint (not its name); null removes username, password, CA bundle",
          body=endpoint_patch, response=EndpointChangedSchema(), errors=(400, 404))
def update(name: str) -> Response:
    found = current_services()
    endpoint = endpoint_named(found.store, name)
    data = load_body(endpoint_patch, partial=True)
    return answer(_dump(endpoints.update_endpoint(found, endpoint, data)))


@blueprint.delete("/endpoints/<name>")
@describe("Delete an endpoint, its job history and its RabbitMQ queues with their "
          "messages (409 while a rule uses it; 503 when RabbitMQ is unreachable)",
          status=204, errors=(404, 409, 503))
def delete(name: str) -> Response:
    found = current_services()
    try:
        endpoints.delete_endpoint(found, endpoint_named(found.store, name))
    except QueuesUnavailableError as exc:
        return unavailable(str(exc))
    return Response(status=204)


@blueprint.post("/endpoints/<name>/redrive")
@describe("Move every message of the endpoint's failed queue back to its work queue "
          "(each keeps its attempt and starts a new round); their failed jobs go back to "
          "pending (409 while a job retry or another redrive of the endpoint runs)",
          body=empty, response=RedriveSchema(), errors=(400, 404, 409, 503))
def redrive(name: str) -> Response:
    load_body(empty, empty_ok=True)
    found = current_services()
    try:
        done = endpoints.redrive_endpoint(found, endpoint_named(found.store, name))
    except QueuesUnavailableError as exc:
        return unavailable(str(exc))
    return answer({"endpoint": done.endpoint, "moved": done.moved,
                   "jobs_reset": done.jobs_reset})
