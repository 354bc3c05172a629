"""Sources: registries that notify crossdock. ``/sources[/<name>]``. The work is
`receiver.services.sources`.

Each answer carries the notification set-up to paste into the registry. The
webhook secret is shown only in the answer to the request that set it (the
create, or a PATCH giving or regenerating it); later answers show a placeholder.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request
from marshmallow import Schema, fields

from receiver.api.common import answer, describe, load_body
from receiver.api.link_schemas import warnings_field
from receiver.api.schemas import SourceSchema, source_create, source_out, source_patch
from receiver.services import current_services, sources
from receiver.services.lookup import source_named
from receiver.services.snippets import notification_setup
from shared.store import SourceRecord

blueprint = Blueprint("sources", __name__)


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


def _changed(change: sources.SourceChange) -> dict[str, Any]:
    return _dump(change.source, change.secret, change.warnings)


@blueprint.post("/sources")
@describe("Create a source; the answer shows its webhook secret, once", body=source_create,
          response=SourceChangedSchema(), status=201, errors=(400, 409))
def create() -> Response:
    data = load_body(source_create)
    return answer(_changed(sources.create_source(current_services(), data)), 201)


@blueprint.get("/sources")
@describe("List sources", response=SourceListSchema())
def index() -> Response:
    return answer({"items": [_dump(source)
                             for source in current_services().store.list_sources()]})


@blueprint.get("/sources/<name>")
@describe("Show a source with its notification set-up", response=source_out, errors=(404,))
def show(name: str) -> Response:
    return answer(_dump(source_named(current_services().store, name)))


@blueprint.patch("/sources/<name>")
@describe("Change a source (not its name); null removes username, password, CA bundle",
          body=source_patch, response=SourceChangedSchema(), errors=(400, 404))
def update(name: str) -> Response:
    found = current_services()
    source = source_named(found.store, name)
    data = load_body(source_patch, partial=True)
    return answer(_changed(sources.update_source(found, source, data)))


@blueprint.delete("/sources/<name>")
@describe("Delete a source and its job history (409 while a rule uses it)", status=204,
          errors=(404, 409))
def delete(name: str) -> Response:
    found = current_services()
    sources.delete_source(found, source_named(found.store, name))
    return Response(status=204)
