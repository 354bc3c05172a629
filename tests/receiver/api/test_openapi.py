"""``GET /api/v1/openapi.json`` describes exactly the registered routes."""

from __future__ import annotations

from typing import Any

from flask import Flask

from receiver.api.common import operation_of
from tests.receiver.api.conftest import Api
from tests.receiver.api.routes import api_routes, openapi_path


def refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(refs(item) for item in node))
    return set()


def test_every_route_is_described_and_nothing_else(app: Flask, api: Api) -> None:
    document = api.ok("GET", "/openapi.json")

    registered = {(method.lower(), openapi_path(rule)) for method, rule, _p in api_routes(app)}
    registered |= {(method.lower(), openapi_path(rule.rule))
                   for rule in app.url_map.iter_rules() if rule.endpoint.startswith("webhooks.")
                   for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}}
    described = {(method, path) for path, item in document["paths"].items() for method in item}
    assert described == registered
    assert ("post", "/webhooks/{source_name}") in described


def test_every_api_view_carries_its_description(app: Flask) -> None:
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            operation = operation_of(app.view_functions[rule.endpoint])
            assert operation is not None and operation.summary, rule.rule


def test_the_document_is_consistent(api: Api) -> None:
    document = api.ok("GET", "/openapi.json")

    assert document["openapi"].startswith("3.0")
    schemas = document["components"]["schemas"]
    assert refs(document) <= {f"#/components/schemas/{name}" for name in schemas}
    operation_ids = [op["operationId"] for item in document["paths"].values()
                     for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert "401" in operation["responses"], (method, path)
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert names == {part[1:-1] for part in path.split("/") if part.startswith("{")}


def test_schemas_follow_the_marshmallow_schemas(api: Api) -> None:
    schemas = api.ok("GET", "/openapi.json")["components"]["schemas"]

    create = schemas["EndpointCreate"]
    assert set(create["required"]) == {"name", "url"} and create["additionalProperties"] is False
    assert create["properties"]["kind"] == {"type": "string", "enum": ["registry", "harbor"],
                                            "default": "registry"}
    assert create["properties"]["password"]["nullable"] is True
    # Write-only fields never appear in an answer's schema.
    assert "password" not in schemas["Endpoint"]["properties"]
    assert "password" not in schemas["Source"]["properties"]
    assert schemas["Endpoint"]["properties"]["has_password"] == {"type": "boolean"}
    assert "name" not in schemas["EndpointPatch"]["properties"]
    rule = schemas["RuleCreate"]["properties"]
    assert rule["endpoint"]["oneOf"][1] == {"$ref": "#/components/schemas/EndpointCreate"}
    assert rule["repo_filters"]["items"] == {"$ref": "#/components/schemas/Filter"}
    jobs = api.ok("GET", "/openapi.json")["paths"]["/api/v1/jobs"]["get"]
    assert {p["name"] for p in jobs["parameters"]} == {
        "rule", "endpoint", "status", "execution", "limit", "offset", "before"}

