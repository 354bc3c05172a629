"""Bodies over ``max_body_bytes`` get 413 however they are sent.

A body sent with ``Transfer-Encoding: chunked`` has no Content-Length to refuse
up front; the server decodes the chunks and says it ends the stream
(``wsgi.input_terminated``, as gunicorn and werkzeug's server do). Each body here
is valid JSON padded with spaces, so a body cut at the limit would still parse
and be acted on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from shared.settings import Settings
from shared.store import Store
from tests.receiver.conftest import ADMIN_TOKEN, WEBHOOK_SECRET, LiveReceiver, Records
from tests.support.settings import pipeline_settings

LIMIT = 4096
DIGEST = "sha256:" + "a" * 64
DIST = "application/vnd.docker.distribution.events.v1+json"
CHUNKED = {"headers": {"Transfer-Encoding": "chunked"},
           "environ_overrides": {"wsgi.input_terminated": True}}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return pipeline_settings(tmp_path, admin_token=ADMIN_TOKEN, max_body_bytes=LIMIT)


def padded(document: object, length: int) -> bytes:
    """`document` as JSON, padded with spaces to `length` bytes."""
    body = json.dumps(document).encode()
    assert len(body) <= length
    return body + b" " * (length - len(body))


def push_event() -> dict[str, object]:
    return {"events": [{"id": "e", "action": "push", "request": {"method": "PUT"},
                        "target": {"repository": "lib/app", "tag": "v1", "digest": DIGEST,
                                   "mediaType": "application/vnd.oci.image.manifest.v1+json"}}]}


def send(client: FlaskClient, path: str, body: bytes, how: dict[str, Any], *,
         authorization: str, content_type: str) -> TestResponse:
    headers = {"Authorization": authorization, **how.get("headers", {})}
    return client.post(path, data=body, content_type=content_type, headers=headers,
                       environ_overrides=how.get("environ_overrides", {}))


@pytest.mark.parametrize("how", [CHUNKED, {}], ids=["chunked", "content-length"])
@pytest.mark.parametrize("over", [1, LIMIT])
def test_a_webhook_body_over_the_limit_is_413_and_makes_no_job(
    client: FlaskClient, records: Records, how: dict[str, Any], over: int
) -> None:
    source = records.source()
    records.rule(source, records.endpoint())

    response = send(client, f"/webhooks/{source.name}", padded(push_event(), LIMIT + over),
                    how, authorization=f"Bearer {WEBHOOK_SECRET}", content_type=DIST)

    assert response.status_code == 413, response.get_json()
    assert response.get_json()["error"]["code"] == "request_entity_too_large"
    assert records.all_jobs() == []


@pytest.mark.parametrize("how", [CHUNKED, {}], ids=["chunked", "content-length"])
def test_an_api_body_over_the_limit_is_413_and_creates_nothing(
    client: FlaskClient, store: Store, how: dict[str, Any]
) -> None:
    endpoint = {"name": "mirror", "url": "http://mirror.test:5000"}

    response = send(client, "/api/v1/endpoints", padded(endpoint, LIMIT + 1), how,
                    authorization=f"Bearer {ADMIN_TOKEN}", content_type="application/json")

    assert response.status_code == 413, response.get_json()
    assert store.list_endpoints() == []


def chunks(body: bytes, size: int = 1000) -> Iterator[bytes]:
    """`body` in pieces: requests sends a generator with Transfer-Encoding: chunked."""
    for start in range(0, len(body), size):
        yield body[start:start + size]


def test_a_chunked_body_of_exactly_the_limit_is_read_whole_over_http(
    live_receiver: LiveReceiver, records: Records
) -> None:
    source = records.source()
    records.rule(source, records.endpoint())

    response = requests.post(
        live_receiver.webhook_url(source.name), data=chunks(padded(push_event(), LIMIT)),
        headers={"Authorization": f"Bearer {WEBHOOK_SECRET}", "Content-Type": DIST},
        timeout=30)

    assert response.status_code == 202, response.text
    assert len(records.all_jobs()) == 1
