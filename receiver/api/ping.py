"""Test Connection: ``POST /endpoints/ping`` with a stored endpoint's name or the
connection fields (or both: the fields given override the stored ones, to try a
new password before saving it). Always 200 with the checks; the work is
`receiver.services.connection`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint, Response
from marshmallow import Schema, ValidationError, fields, validates_schema

from receiver.api.common import answer, describe, load_body
from receiver.api.fields import PROJECT_PATTERN, Pattern, Text, name_field
from receiver.api.schemas import RegistryFieldsSchema
from receiver.services import current_services
from receiver.services.connection import ping_endpoint
from shared.store import EndpointKind

blueprint = Blueprint("ping", __name__)


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
    tested = ping_endpoint(current_services(), data)
    return answer(ping_out.dump({**asdict(tested.report), "url": tested.target.url}))
