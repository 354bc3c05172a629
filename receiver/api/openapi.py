"""``GET /api/v1/openapi.json``: an OpenAPI 3.0 document built from the app itself.

Paths come from the registered Flask rules (the management API and the
webhooks), operations from each view's `describe` metadata, schemas from the
marshmallow schemas through `jsonschema`. Nothing is written by hand twice, so
the document cannot drift from the routes.
"""

from __future__ import annotations

import re
from importlib import metadata
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from marshmallow import Schema, fields
from werkzeug.routing import Rule

from receiver.api.common import Operation, answer, describe, operation_of
from receiver.api.jsonschema import Components

API_PREFIX = "/api/v1"
WEBHOOKS = "webhooks."
_PARAMETER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
_STATUS_TEXT = {200: "OK", 201: "Created", 202: "Accepted", 204: "No content",
                400: "Invalid input; `fields` names the field errors", 401: "No or wrong token",
                404: "Not found", 409: "Conflict", 413: "Body too large",
                503: "A dependency (database, broker) is unavailable; retry later"}


class RejectionSchema(Schema):
    reason = fields.String()
    detail = fields.String()


class WebhookAnswerSchema(Schema):
    """202 when jobs were queued, 200 when there was nothing to do."""

    jobs = fields.List(fields.Integer())
    ignored = fields.Integer()
    rejected = fields.List(fields.Nested(RejectionSchema))


_WEBHOOK = Operation(
    "A registry's notification for the source in the path (a Distribution event envelope "
    "or a Harbor webhook payload), authenticated with the source's webhook secret",
    response=WebhookAnswerSchema(), status=202, errors=(400, 401, 404, 413, 503))

blueprint = Blueprint("openapi", __name__)


@blueprint.get("/openapi.json")
@describe("This OpenAPI document")
def openapi_json() -> Response:
    return answer(build_document(current_app, request.host_url))


def described_rules(app: Flask) -> list[Rule]:
    """The rules the document covers: the management API and the webhooks."""
    return [rule for rule in app.url_map.iter_rules()
            if rule.rule.startswith(API_PREFIX + "/") or rule.endpoint.startswith(WEBHOOKS)]


def openapi_path(rule: Rule) -> str:
    """``/jobs/<int(max=…):job_id>`` -> ``/jobs/{job_id}``."""
    return _PARAMETER.sub(lambda m: "{" + m.group(2) + "}", rule.rule)


def build_document(app: Flask, host_url: str) -> dict[str, Any]:
    components = Components()
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(described_rules(app), key=lambda r: r.rule):
        view = app.view_functions[rule.endpoint]
        webhook = rule.endpoint.startswith(WEBHOOKS)
        found = operation_of(view) or (_WEBHOOK if webhook else Operation(rule.endpoint))
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            item = paths.setdefault(openapi_path(rule), {})
            item[method.lower()] = _operation(rule, method, found, components, webhook)
    return {
        "openapi": "3.0.3",
        "info": {"title": "crossdock", "version": _version(),
                 "description": "Replication of container images between OCI registries: "
                                "the management API and the registry webhooks."},
        "servers": [{"url": host_url.rstrip("/")}],
        "security": [{"adminToken": []}],
        "paths": paths,
        "components": {
            "schemas": {**components.schemas, "Error": _ERROR},
            "securitySchemes": {
                "adminToken": {"type": "http", "scheme": "bearer",
                               "description": "The receiver's admin_token setting"},
                "webhookSecret": {"type": "http", "scheme": "bearer",
                                  "description": "The source's webhook secret"},
            },
        },
    }


def _operation(rule: Rule, method: str, op: Operation, components: Components,
               webhook: bool) -> dict[str, Any]:
    result: dict[str, Any] = {
        "operationId": f"{rule.endpoint}.{method.lower()}",
        "summary": op.summary,
        "tags": [rule.endpoint.split(".")[-2] if "." in rule.endpoint else "api"],
    }
    parameters = [_path_parameter(converter, name)
                  for converter, name in _PARAMETER.findall(rule.rule)]
    if op.query is not None:
        for name, field in op.query.fields.items():
            parameters.append({"name": field.data_key or name, "in": "query",
                               "required": field.required,
                               "schema": components.field(field, "load")})
    if parameters:
        result["parameters"] = parameters
    if op.body is not None:
        result["requestBody"] = {"required": bool(op.body.fields), "content": {
            "application/json": {"schema": components.ref(op.body, "load")}}}
    elif webhook:
        result["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": {"type": "object"}}}}
    responses: dict[str, Any] = {str(op.status): {"description": _STATUS_TEXT[op.status]}}
    if op.response is not None:
        responses[str(op.status)]["content"] = {
            "application/json": {"schema": components.ref(op.response, "dump")}}
    for status in sorted({*op.errors, 401}):
        responses[str(status)] = {"description": _STATUS_TEXT[status], "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    result["responses"] = responses
    if webhook:
        result["security"] = [{"webhookSecret": []}]
    return result


def _path_parameter(converter: str, name: str) -> dict[str, Any]:
    schema = {"type": "integer", "minimum": 0} if converter == "int" else {"type": "string"}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _version() -> str:
    try:
        return metadata.version("crossdock")
    except metadata.PackageNotFoundError:
        return "0.0.0"


_ERROR = {
    "type": "object",
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"},
        "message": {"type": "string"},
        "fields": {"type": "object", "description": "Field name -> messages (400 only)"},
    }}},
}
