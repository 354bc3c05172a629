"""Test Connection: ``POST /endpoints/ping`` with a stored endpoint's name or the
connection fields (or both: the fields given override the stored ones, to try a
new password before saving it). Always 200 with the checks; see `probe`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import structlog
from flask import Blueprint, Response
from marshmallow import Schema, ValidationError, fields, validates_schema

from receiver.api.checks import Target
from receiver.api.common import answer, describe, load_body
from receiver.api.fields import PROJECT_PATTERN, Pattern, Text, name_field
from receiver.api.lookup import endpoint_named
from receiver.api.probe import check_connection
from receiver.api.schemas import RegistryFieldsSchema
from receiver.app import services
from shared.store import EndpointKind

blueprint = Blueprint("ping", __name__)
log = structlog.get_logger("crossdock.receiver")


class PingSchema(RegistryFieldsSchema):
    """An endpoint's name, its connection fields, or both."""

    kind = fields.Enum(EndpointKind, by_value=True, metadata={
        "description": "The kind it should be (a mismatch fails the kind check)"})
    name = name_field(metadata={"description": "A stored endpoint to test"})
    project = Text(allow_none=True, validate=Pattern(PROJECT_PATTERN), metadata={
        "description": "Check push rights in this project (default for a stored endpoint: "
                       "the destination project of the first rule that uses it)"})

    @validates_schema
    def _name_or_url(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if "name" not in data and "url" not in data:
            raise ValidationError("Give an endpoint name, or a url to test.", "url")


class CheckSchema(Schema):
    name = fields.String(metadata={"description": "connection, tls, registry, kind, "
                                                  "credentials, push, delete"})
    ok = fields.Boolean()
    message = fields.String()


class PingResultSchema(Schema):
    ok = fields.Boolean(metadata={"description": "Reachable, logged in, and may push (the "
                                                 "delete check is reported only)"})
    kind = fields.Enum(EndpointKind, by_value=True, allow_none=True)
    url = fields.String()
    checks = fields.List(fields.Nested(CheckSchema))
    message = fields.String()


ping_in = PingSchema()
ping_out = PingResultSchema()


@blueprint.post("/endpoints/ping")
@describe("Test the connection to an endpoint: reachability, TLS, kind, credentials, push "
          "and delete rights", body=ping_in, response=ping_out, errors=(400, 404))
def ping() -> Response:
    data = load_body(ping_in)
    settings: dict[str, Any] = {}
    name = data.pop("name", None)
    if name is not None:
        settings = _stored(name)
    settings.update(data)
    target = Target(**settings)
    report = check_connection(target)
    log.info("connection tested", url=target.url, ok=report.ok,
             failed=[c.name for c in report.checks if not c.ok])
    return answer(ping_out.dump({**asdict(report), "url": target.url}))


def _stored(name: str) -> dict[str, Any]:
    store = services().store
    endpoint = endpoint_named(name)
    credentials = store.endpoint_credentials(endpoint.id)
    rules = store.list_rules(endpoint_id=endpoint.id)
    project = None
    if rules:
        project = (rules[0].dest_namespace or rules[0].project).split("/", 1)[0]
    return {"url": endpoint.url, "kind": endpoint.kind, "username": credentials.username,
            "password": credentials.password, "verify_tls": endpoint.verify_tls,
            "ca_bundle": endpoint.ca_bundle, "project": project}
