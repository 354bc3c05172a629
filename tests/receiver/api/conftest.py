"""Fixtures for the management API: the receiver with a real SQLite store and a real
RabbitMQ publisher (a queue prefix of its own per test), and an `Api` client that
sends the admin token.

Every queue the test's publisher declared is deleted at teardown.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pika
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from receiver.app import create_app
from shared.settings import Settings
from shared.store import Store, generate_secret_key, open_store
from tests.support.harbor_fixtures import harbor  # noqa: F401 - the Harbor fake, for test_ping
from tests.support.publishers import RecordingPublisher
from tests.support.settings import delete_endpoint_queues

AMQP_URL = os.environ.get("CROSSDOCK_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
ADMIN_TOKEN = "api-test-admin-token-0123456789"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        amqp_url=AMQP_URL + "?heartbeat=5",
        queue_prefix=f"crossdock-apitest-{uuid.uuid4().hex[:8]}",
        database_url=f"sqlite:///{tmp_path / 'crossdock.db'}",
        secret_key=generate_secret_key(),
        admin_token=ADMIN_TOKEN,
    )


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    opened = open_store(settings)
    yield opened
    opened.close()


@pytest.fixture
def publisher(settings: Settings, store: Store) -> Iterator[RecordingPublisher]:
    """Deletes, at teardown, the queues of the endpoints it published to and of those
    in the store (a redrive declares them too)."""
    recording = RecordingPublisher(settings, name="test-api")
    yield recording
    recording.close()
    endpoints = recording.endpoints | {endpoint.name for endpoint in store.list_endpoints()}
    delete_endpoint_queues(settings, endpoints)


@pytest.fixture
def app(settings: Settings, store: Store, publisher: RecordingPublisher) -> Flask:
    application = create_app(settings, store=store, publisher=publisher)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@dataclass
class Api:
    """Calls ``/api/v1`` with the admin token; answers are werkzeug `TestResponse`s."""

    client: FlaskClient
    token: str = ADMIN_TOKEN

    def call(self, method: str, path: str, json: Any = None, **kwargs: Any) -> TestResponse:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.client.open(f"/api/v1{path}", method=method, json=json, headers=headers,
                                **kwargs)

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> TestResponse:
        return self.call("POST", path, json, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> TestResponse:
        return self.call("PATCH", path, json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> TestResponse:
        return self.call("DELETE", path, **kwargs)

    def ok(self, method: str, path: str, json: Any = None, status: int = 200) -> Any:
        """Call and assert the status; the JSON answer."""
        response = self.call(method, path, json)
        assert response.status_code == status, (response.status_code, response.get_json())
        return response.get_json()

    # -- records through the API ----------------------------------------------------

    def endpoint(self, name: str = "mirror", url: str = "http://mirror.test:5000",
                 **fields: Any) -> Any:
        return self.ok("POST", "/endpoints", {"name": name, "url": url, **fields}, 201)

    def source(self, name: str = "origin", url: str = "http://origin.test:5000",
               kind: str = "distribution", **fields: Any) -> Any:
        return self.ok("POST", "/sources", {"name": name, "url": url, "kind": kind, **fields},
                       201)

    def rule(self, name: str = "lib-to-mirror", *, source: str = "origin",
             endpoint: Any = "mirror", project: str = "lib", **fields: Any) -> Any:
        body = {"name": name, "source": source, "endpoint": endpoint, "project": project,
                **fields}
        return self.ok("POST", "/rules", body, 201)


@pytest.fixture
def api(client: FlaskClient) -> Api:
    return Api(client)


def queue_messages(queue: str) -> list[tuple[dict[str, Any], bytes, str | None]]:
    """Take every message from `queue`: (headers, body, message_id), oldest first."""
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    taken: list[tuple[dict[str, Any], bytes, str | None]] = []
    try:
        channel = connection.channel()
        while True:
            method, properties, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                return taken
            taken.append((dict(properties.headers or {}), body, properties.message_id))
    finally:
        connection.close()
