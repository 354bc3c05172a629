"""Registry links: "source S is the same registry as endpoint E". ``/links[/<id>]``.
The work is `receiver.services.links`.

A link is how crossdock knows a registry it both reads and writes (DESIGN
invariant 3): its own writes there are recognised, and two opposite rules over
linked registries are a two-way pair (see `pairs`). A source, and an endpoint,
has at most one link. Links name their source and endpoint by name.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from receiver.api.common import ID, answer, describe, load_body
from receiver.api.link_schemas import LinkListSchema, link_create, link_out, link_patch
from receiver.api.runs import Names, registry_names
from receiver.services import current_services, links
from shared.store import LinkRecord

blueprint = Blueprint("links", __name__)


def link_answer(link: LinkRecord, names: Names | None = None,
                warnings: list[str] | None = None) -> dict[str, Any]:
    """A link as answered: its source and endpoint by name."""
    store = current_services().store
    sources, endpoints = names or ({}, {})
    payload: dict[str, Any] = link_out.dump({
        **link.__dict__,
        "source": sources.get(link.source_id) or store.get_source(link.source_id).name,
        "endpoint": endpoints.get(link.endpoint_id) or store.get_endpoint(link.endpoint_id).name,
    })
    if warnings:
        payload["warnings"] = warnings
    return payload


@blueprint.post("/links")
@describe("Link a source with an endpoint: they are one registry (409 when either is "
          "already linked)", body=link_create, response=link_out, status=201,
          errors=(400, 409))
def create() -> Response:
    data = load_body(link_create)
    change = links.create_link(current_services(), data)
    return answer(link_answer(change.link, warnings=change.warnings), 201)


@blueprint.get("/links")
@describe("List registry links", response=LinkListSchema())
def index() -> Response:
    names = registry_names()
    return answer({"items": [link_answer(link, names)
                             for link in current_services().store.list_links()]})


@blueprint.get(f"/links/<{ID}:link_id>")
@describe("Show a registry link", response=link_out, errors=(404,))
def show(link_id: int) -> Response:
    return answer(link_answer(current_services().store.get_link(link_id)))


@blueprint.patch(f"/links/<{ID}:link_id>")
@describe("Change a registry link's Harbor account (not its source or endpoint); null "
          "removes it", body=link_patch, response=link_out, errors=(400, 404))
def update(link_id: int) -> Response:
    found = current_services()
    link = found.store.get_link(link_id)  # 404 before 400, as the other resources answer
    data = load_body(link_patch, partial=True)
    change = links.update_link(found, link, data)
    return answer(link_answer(change.link, warnings=change.warnings))


@blueprint.delete(f"/links/<{ID}:link_id>")
@describe("Delete a registry link: its rules stop being a two-way pair", status=204,
          errors=(404,))
def delete(link_id: int) -> Response:
    links.delete_link(current_services(), link_id)
    return Response(status=204)
