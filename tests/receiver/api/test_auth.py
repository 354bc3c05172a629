"""Every route of the management API needs ``Authorization: Bearer <admin_token>``."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from receiver.app import create_app
from shared.settings import Settings
from shared.store import Store
from tests.receiver.api.conftest import ADMIN_TOKEN, Api, RecordingPublisher
from tests.receiver.api.routes import api_routes

WRONG = [
    {},
    {"Authorization": "Bearer not-the-token"},
    {"Authorization": f"Basic {ADMIN_TOKEN}x"},
    {"Authorization": f"Bearer {ADMIN_TOKEN[:-1]}"},
    {"Authorization": ""},
]


def test_the_api_has_the_expected_routes(app: Flask) -> None:
    assert {(method, rule) for method, rule, _path in api_routes(app)} == {
        ("GET", "/api/v1/openapi.json"),
        ("POST", "/api/v1/endpoints"), ("GET", "/api/v1/endpoints"),
        ("GET", "/api/v1/endpoints/<name>"), ("PATCH", "/api/v1/endpoints/<name>"),
        ("DELETE", "/api/v1/endpoints/<name>"), ("POST", "/api/v1/endpoints/ping"),
        ("POST", "/api/v1/endpoints/<name>/redrive"),
        ("POST", "/api/v1/sources"), ("GET", "/api/v1/sources"),
        ("GET", "/api/v1/sources/<name>"), ("PATCH", "/api/v1/sources/<name>"),
        ("DELETE", "/api/v1/sources/<name>"),
        ("POST", "/api/v1/rules"), ("GET", "/api/v1/rules"), ("GET", "/api/v1/rules/<name>"),
        ("PATCH", "/api/v1/rules/<name>"), ("DELETE", "/api/v1/rules/<name>"),
        ("POST", "/api/v1/rules/<name>/enable"), ("POST", "/api/v1/rules/<name>/disable"),
        ("POST", "/api/v1/rules/<name>/run"),
        ("GET", "/api/v1/executions"),
        ("GET", "/api/v1/executions/<int(max=9223372036854775807):execution_id>"),
        ("GET", "/api/v1/jobs"),
        ("GET", "/api/v1/jobs/<int(max=9223372036854775807):job_id>"),
        ("GET", "/api/v1/jobs/<int(max=9223372036854775807):job_id>/log"),
        ("POST", "/api/v1/jobs/<int(max=9223372036854775807):job_id>/retry"),
        ("POST", "/api/v1/links"), ("GET", "/api/v1/links"),
        ("GET", "/api/v1/links/<int(max=9223372036854775807):link_id>"),
        ("PATCH", "/api/v1/links/<int(max=9223372036854775807):link_id>"),
        ("DELETE", "/api/v1/links/<int(max=9223372036854775807):link_id>"),
        ("GET", "/api/v1/pairs"), ("GET", "/api/v1/pairs/<pair>"),
        ("PUT", "/api/v1/pairs/<pair>/preferred"),
    }


def test_every_route_refuses_a_missing_or_wrong_token(app: Flask, api: Api) -> None:
    api.endpoint()  # so that routes naming "mirror" would otherwise succeed
    client = app.test_client()
    for method, _rule, path in api_routes(app):
        for headers in WRONG:
            response = client.open(path, method=method, headers=headers, json={})
            assert response.status_code == 401, (method, path, headers)
            assert response.get_json()["error"]["code"] == "unauthorized"
    assert api.get("/endpoints/mirror").status_code == 200
    assert api.get("/endpoints/mirror", headers={"Authorization": ADMIN_TOKEN}).status_code == 200


def test_without_an_admin_token_the_api_is_off(
    settings: Settings, store: Store, publisher: RecordingPublisher
) -> None:
    app = create_app(settings.replace(admin_token=""), store=store, publisher=publisher)
    client = FlaskClient(app)

    response = client.get("/api/v1/endpoints", headers={"Authorization": "Bearer "})

    assert response.status_code == 401
    assert "CROSSDOCK_ADMIN_TOKEN" in response.get_json()["error"]["message"]
