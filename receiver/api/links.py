"""Registry links: "source S is the same registry as endpoint E". ``/links[/<id>]``.

A link is how crossdock knows a registry it both reads and writes (DESIGN
invariant 3): its own writes there are recognised, and two opposite rules over
linked registries are a two-way pair (see `pairs`). A source, and an endpoint,
has at most one link. Links name their source and endpoint by name.
"""

from __future__ import annotations

from typing import Any

import structlog
from flask import Blueprint, Response

from receiver.api.common import ID, answer, describe, field_error, load_body
from receiver.api.link_schemas import LinkListSchema, link_create, link_out, link_patch
from receiver.api.lookalikes import best_effort
from receiver.api.lookup import endpoint_named, source_named
from receiver.api.runs import Names, registry_names
from receiver.app import services
from shared.registry_identity import looks_like_same_registry
from shared.store import (
    EndpointKind,
    EndpointRecord,
    LinkRecord,
    RecordNotFoundError,
    SourceKind,
    SourceRecord,
)

blueprint = Blueprint("links", __name__)
log = structlog.get_logger("crossdock.receiver")


def link_answer(link: LinkRecord, names: Names | None = None,
                warnings: list[str] | None = None) -> dict[str, Any]:
    """A link as answered: its source and endpoint by name."""
    store = services().store
    sources, endpoints = names or ({}, {})
    payload: dict[str, Any] = link_out.dump({
        **link.__dict__,
        "source": sources.get(link.source_id) or store.get_source(link.source_id).name,
        "endpoint": endpoints.get(link.endpoint_id) or store.get_endpoint(link.endpoint_id).name,
    })
    if warnings:
        payload["warnings"] = warnings
    return payload


def _source(name: str) -> SourceRecord:
    try:
        return source_named(name)
    except RecordNotFoundError as exc:
        raise field_error("source", f"No source named {name!r}.") from exc


def _endpoint(name: str) -> EndpointRecord:
    try:
        return endpoint_named(name)
    except RecordNotFoundError as exc:
        raise field_error("endpoint", f"No endpoint named {name!r}.") from exc


@best_effort
def _warnings(link: LinkRecord) -> list[str]:
    """What looks wrong with a link: URLs that do not look alike, a Harbor registry
    without the account crossdock writes with, an account on a registry that is not
    Harbor."""
    store = services().store
    source, endpoint = store.get_source(link.source_id), store.get_endpoint(link.endpoint_id)
    found = []
    if not looks_like_same_registry(source.url, endpoint.url):
        found.append(f"source {source.name!r} at {source.url} and endpoint {endpoint.name!r} "
                     f"at {endpoint.url} do not look like one registry: check that they are "
                     "(crossdock takes the link's word for it)")
    harbor = source.kind == SourceKind.HARBOR or endpoint.kind == EndpointKind.HARBOR
    if harbor and link.harbor_account is None:
        found.append(f"source {source.name!r} / endpoint {endpoint.name!r} is a Harbor "
                     "registry: give harbor_account, the account crossdock writes there "
                     "with, or crossdock cannot tell its own writes in Harbor's events "
                     "(they name only the account)")
    if not harbor and link.harbor_account is not None:
        found.append(f"harbor_account is only read from Harbor registries; source "
                     f"{source.name!r} and endpoint {endpoint.name!r} are not Harbor")
    for warning in found:
        log.warning("registry link looks wrong", link=link.id, source=source.name,
                    endpoint=endpoint.name, warning=warning)
    return found


@blueprint.post("/links")
@describe("Link a source with an endpoint: they are one registry (409 when either is "
          "already linked)", body=link_create, response=link_out, status=201,
          errors=(400, 409))
def create() -> Response:
    data = load_body(link_create)
    source, endpoint = _source(data["source"]), _endpoint(data["endpoint"])
    link = services().store.create_link(source_id=source.id, endpoint_id=endpoint.id,
                                        harbor_account=data.get("harbor_account"))
    log.info("registry link created", link=link.id, source=source.name, endpoint=endpoint.name)
    return answer(link_answer(link, warnings=_warnings(link)), 201)


@blueprint.get("/links")
@describe("List registry links", response=LinkListSchema())
def index() -> Response:
    names = registry_names()
    return answer({"items": [link_answer(link, names)
                             for link in services().store.list_links()]})


@blueprint.get(f"/links/<{ID}:link_id>")
@describe("Show a registry link", response=link_out, errors=(404,))
def show(link_id: int) -> Response:
    return answer(link_answer(services().store.get_link(link_id)))


@blueprint.patch(f"/links/<{ID}:link_id>")
@describe("Change a registry link's Harbor account (not its source or endpoint); null "
          "removes it", body=link_patch, response=link_out, errors=(400, 404))
def update(link_id: int) -> Response:
    store = services().store
    store.get_link(link_id)  # 404 before 400, as the other resources answer
    data = load_body(link_patch, partial=True)
    link = store.update_link(link_id, **data)
    log.info("registry link changed", link=link.id, fields=sorted(data))
    return answer(link_answer(link, warnings=_warnings(link)))


@blueprint.delete(f"/links/<{ID}:link_id>")
@describe("Delete a registry link: its rules stop being a two-way pair", status=204,
          errors=(404,))
def delete(link_id: int) -> Response:
    services().store.delete_link(link_id)
    log.info("registry link deleted", link=link_id)
    return Response(status=204)
