"""Sources: registries that notify crossdock. ``/sources[/<name>]``.

Each answer carries the notification set-up to paste into the registry. The
webhook secret is shown only in the answer to the request that set it (the
create, or a PATCH giving or regenerating it); later answers show a placeholder.
"""

from __future__ import annotations

import secrets
from typing import Any

import structlog
from flask import Blueprint, Response, request
from marshmallow import Schema, fields

from receiver.api.common import answer, describe, field_error, load_body
from receiver.api.link_schemas import warnings_field
from receiver.api.lookalikes import source_warnings
from receiver.api.lookup import source_named
from receiver.api.schemas import SourceSchema, source_create, source_out, source_patch
from receiver.api.snippets import notification_setup
from receiver.app import services
from shared.store import SourceRecord

blueprint = Blueprint("sources", __name__)
log = structlog.get_logger("crossdock.receiver")


class SourceListSchema(Schema):
    items = fields.List(fields.Nested(SourceSchema))


class SourceChangedSchema(SourceSchema):
    """A source as answered to the request that created or changed it."""

    warnings = warnings_field()


def _dump(source: SourceRecord, secret: str | None = None,
          warnings: list[str] | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = source_out.dump(source)
    if secret is not None:
        payload["webhook_secret"] = secret
    payload["notification"] = notification_setup(source.kind, source.name, request.host_url,
                                                 secret)
    if warnings:
        payload["warnings"] = warnings
    return payload


@blueprint.post("/sources")
@describe("Create a source; the answer shows its webhook secret, once", body=source_create,
          response=SourceChangedSchema(), status=201, errors=(400, 409))
def create() -> Response:
    data = load_body(source_create)
    secret = data.pop("webhook_secret", None) or secrets.token_urlsafe(32)
    source = services().store.create_source(**data, webhook_secret=secret)
    log.info("source created", source=source.name, url=source.url)
    return answer(_dump(source, secret, source_warnings(source)), 201)


@blueprint.get("/sources")
@describe("List sources", response=SourceListSchema())
def index() -> Response:
    return answer({"items": [_dump(source) for source in services().store.list_sources()]})


@blueprint.get("/sources/<name>")
@describe("Show a source with its notification set-up", response=source_out, errors=(404,))
def show(name: str) -> Response:
    return answer(_dump(source_named(name)))


@blueprint.patch("/sources/<name>")
@describe("Change a source (not its name); null removes username, password, CA bundle",
          body=source_patch, response=SourceChangedSchema(), errors=(400, 404))
def update(name: str) -> Response:
    source = source_named(name)
    data = load_body(source_patch, partial=True)
    regenerate = data.pop("regenerate_webhook_secret", False)
    if regenerate and "webhook_secret" in data:
        raise field_error("regenerate_webhook_secret", "Give a webhook_secret or regenerate "
                                                       "one, not both.")
    if regenerate:
        data["webhook_secret"] = secrets.token_urlsafe(32)
    updated = services().store.update_source(source.id, **data)
    services().sources.clear()  # this process's webhook path sees the change at once
    log.info("source changed", source=name, fields=sorted(data))
    return answer(_dump(updated, data.get("webhook_secret"), source_warnings(updated)))


@blueprint.delete("/sources/<name>")
@describe("Delete a source and its job history (409 while a rule uses it)", status=204,
          errors=(404, 409))
def delete(name: str) -> Response:
    services().store.delete_source(source_named(name).id)
    services().sources.clear()
    log.info("source deleted", source=name)
    return Response(status=204)
