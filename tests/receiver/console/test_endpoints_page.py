"""The console's Endpoints page through Flask's test client: the list, the create
and edit forms with their field errors, the delete confirmation with its 409, Test
Connection on a saved endpoint, the queue depths fragment and Redrive."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pika
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from receiver.services import services_of
from receiver.services.queues import ALL
from shared.broker.topology import declare_topology
from shared.queues import failed_queue
from shared.settings import Settings
from shared.store import Store
from tests.receiver.conftest import ADMIN_TOKEN, Records
from tests.receiver.console.conftest import csrf_from
from tests.support.registry_server import RegistryServer
from tests.support.settings import pipeline_settings

SCRIPT = "<script>alert('endpoint')</script>"
CONSOLE_URL = "http://rabbit.test:15672"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The receiver's settings, with a RabbitMQ management console to link to."""
    return pipeline_settings(tmp_path, admin_token=ADMIN_TOKEN, rabbitmq_console_url=CONSOLE_URL)


def _post(client: FlaskClient, path: str, data: dict[str, str], page: str | None = None,
          **headers: str) -> TestResponse:
    token = csrf_from(client.get(page or path).text)
    return client.post(path, data={**data, "csrf_token": token}, headers=headers)


def test_an_endpoint_is_created_from_the_form_and_listed(
    signed_in_client: FlaskClient, store: Store,
) -> None:
    answer = _post(signed_in_client, "/ui/endpoints/new", {
        "name": "mirror", "kind": "registry", "url": "https://mirror.test:5000/",
        "username": "robot", "password": "s3cret", "ca_bundle": ""})

    assert answer.status_code == 303, answer.text
    assert answer.headers["Location"] == "/ui/endpoints/mirror/"
    endpoint = store.get_endpoint_by_name("mirror")
    assert endpoint.url == "https://mirror.test:5000"
    assert endpoint.verify_tls is False  # the box was not ticked
    assert store.endpoint_credentials(endpoint.id).password == "s3cret"
    listed = signed_in_client.get("/ui/endpoints/").text
    assert "https://mirror.test:5000" in listed and "robot" in listed
    assert "s3cret" not in signed_in_client.get("/ui/endpoints/mirror/").text


def test_field_errors_show_beside_their_fields_and_a_script_is_escaped(
    signed_in_client: FlaskClient, store: Store,
) -> None:
    answer = _post(signed_in_client, "/ui/endpoints/new", {
        "name": "Not A Name", "url": SCRIPT, "username": SCRIPT, "verify_tls": "on"})

    assert answer.status_code == 400
    assert re.search(r'id="error-name" class="field-error">Use 1-63', answer.text)
    assert 'id="error-url"' in answer.text
    assert SCRIPT not in answer.text
    assert "&lt;script&gt;alert(" in answer.text
    assert store.list_endpoints() == []


def test_a_script_in_a_username_is_shown_escaped_in_the_list_and_the_form(
    signed_in_client: FlaskClient, records: Records,
) -> None:
    records.endpoint(name="odd", username=SCRIPT)

    for path in ("/ui/endpoints/", "/ui/endpoints/odd/"):
        shown = signed_in_client.get(path)
        assert shown.status_code == 200, path
        assert SCRIPT not in shown.text, path
        assert "&lt;script&gt;alert(&#39;endpoint&#39;)&lt;/script&gt;" in shown.text, path


def test_a_name_taken_is_a_field_error(signed_in_client: FlaskClient, records: Records) -> None:
    records.endpoint(name="taken")

    answer = _post(signed_in_client, "/ui/endpoints/new", {
        "name": "taken", "url": "http://other.test:5000"})

    assert answer.status_code == 409
    assert 'id="error-name"' in answer.text


def test_an_edit_keeps_a_blank_password_and_a_blank_username_removes_both(
    signed_in_client: FlaskClient, records: Records, store: Store,
) -> None:
    endpoint = records.endpoint(name="edited", username="robot", password="kept")
    path = "/ui/endpoints/edited/"

    answer = _post(signed_in_client, path, {"kind": "harbor", "url": "http://new.test:5000",
                                            "username": "robot", "password": "",
                                            "verify_tls": "on"})
    assert answer.status_code == 303, answer.text
    changed = store.get_endpoint(endpoint.id)
    assert (changed.kind.value, changed.url) == ("harbor", "http://new.test:5000")
    assert store.endpoint_credentials(endpoint.id).password == "kept"

    answer = _post(signed_in_client, path, {"kind": "harbor", "url": "http://new.test:5000",
                                            "username": "", "password": ""})
    assert answer.status_code == 303, answer.text
    credentials = store.endpoint_credentials(endpoint.id)
    assert (credentials.username, credentials.password) == (None, None)


def test_an_invalid_edit_is_refused_beside_the_field(
    signed_in_client: FlaskClient, records: Records, store: Store,
) -> None:
    endpoint = records.endpoint(name="kept")

    answer = _post(signed_in_client, "/ui/endpoints/kept/", {"url": "ftp://x", "kind": "registry",
                                                            "ca_bundle": "relative.pem"})

    assert answer.status_code == 400
    assert 'id="error-url"' in answer.text and 'id="error-ca_bundle"' in answer.text
    assert store.get_endpoint(endpoint.id).url == endpoint.url


def test_delete_asks_first_and_an_endpoint_in_use_is_a_clear_409(
    signed_in_client: FlaskClient, records: Records, store: Store,
) -> None:
    endpoint = records.endpoint(name="used")
    rule = records.rule(records.source(), endpoint)

    confirm = signed_in_client.get("/ui/endpoints/used/delete")
    assert confirm.status_code == 200
    assert f"the rule {rule.name}" in confirm.text and "is in use" in confirm.text
    answer = _post(signed_in_client, "/ui/endpoints/used/delete", {})

    assert answer.status_code == 409
    assert "is in use" in answer.text and rule.name in answer.text
    assert store.get_endpoint(endpoint.id).name == "used"


def test_delete_after_the_confirmation_removes_the_endpoint(
    signed_in_client: FlaskClient, records: Records, store: Store,
) -> None:
    records.endpoint(name="unused")
    confirm = signed_in_client.get("/ui/endpoints/unused/delete")
    assert "cannot be undone" in confirm.text
    assert store.list_endpoints() != []  # asking deletes nothing

    answer = _post(signed_in_client, "/ui/endpoints/unused/delete", {})

    assert answer.status_code == 303
    assert store.list_endpoints() == []  # its queues went with it
    assert "Endpoint unused deleted" in signed_in_client.get(answer.headers["Location"]).text


def test_a_delete_without_the_csrf_token_is_refused(
    signed_in_client: FlaskClient, records: Records, store: Store,
) -> None:
    records.endpoint(name="safe")

    answer = signed_in_client.post("/ui/endpoints/safe/delete", data={})

    assert answer.status_code == 403
    assert [e.name for e in store.list_endpoints()] == ["safe"]
    assert _post(signed_in_client, "/ui/endpoints/safe/delete", {}).status_code == 303
    assert store.list_endpoints() == []


def test_test_connection_checks_the_saved_endpoint_as_a_fragment(
    signed_in_client: FlaskClient, records: Records,
) -> None:
    records.endpoint("http://127.0.0.1:9", name="nowhere")  # nothing listens on port 9

    answer = _post(signed_in_client, "/ui/endpoints/nowhere/test", {},
                   page="/ui/endpoints/nowhere/", **{"HX-Request": "true"})

    assert answer.status_code == 200
    assert answer.text.lstrip().startswith('<section id="connection-checks"')
    assert "<html" not in answer.text
    assert re.search(r'check-failed">\s*<th scope="row">connection</th>', answer.text)
    assert "Failed" in answer.text


def test_test_connection_without_javascript_renders_the_form_with_the_checks(
    signed_in_client: FlaskClient,
) -> None:
    answer = _post(signed_in_client, "/ui/endpoints/test",
                   {"name": "draft", "url": "http://127.0.0.1:9", "kind": "registry"},
                   page="/ui/endpoints/new")

    assert answer.status_code == 200
    assert "<h1>New endpoint</h1>" in answer.text
    assert 'value="http://127.0.0.1:9"' in answer.text  # what was typed stays
    assert ">connection</th>" in answer.text


def test_test_connection_with_a_bad_field_says_so(signed_in_client: FlaskClient) -> None:
    answer = _post(signed_in_client, "/ui/endpoints/test", {"url": "nope"},
                   page="/ui/endpoints/new", **{"HX-Request": "true"})

    assert answer.status_code == 400
    assert "The test did not run" in answer.text and "<code>url</code>" in answer.text


def test_the_queue_depths_fragment_links_to_rabbitmq_and_redrive_moves_the_failed_queue(
    app: Flask, signed_in_client: FlaskClient, records: Records, settings: Settings,
) -> None:
    services = services_of(app)
    client = signed_in_client
    endpoint = records.endpoint(name=f"ep-{uuid.uuid4().hex[:6]}")
    failed = failed_queue(settings.queue_prefix, endpoint.name)
    connection = pika.BlockingConnection(pika.URLParameters(settings.amqp_url))
    try:
        declare_topology(connection, settings, endpoint.name)
        channel = connection.channel()
        for number in range(2):
            channel.basic_publish("", failed, b"{}", pika.BasicProperties(
                message_id=f"not-a-job-{number}", delivery_mode=2))
        services.queues.expire(ALL)

        page = client.get("/ui/endpoints/")
        assert 'hx-get="/ui/endpoints/queues" hx-trigger="load"' in page.text
        assert '<a href="/ui/endpoints/queues">Show the queue depths</a>' in page.text  # no JS
        whole = client.get("/ui/endpoints/queues")
        assert "<h1>Endpoint queues</h1>" in whole.text and 'id="endpoint-queues"' in whole.text
        fragment = ""
        for _ in range(50):  # the first count is made in the background
            fragment = client.get("/ui/endpoints/queues", headers={"HX-Request": "true"}).text
            if 'data-polling="no"' in fragment:
                break
            services.queues.get(ALL, wait=0.2)
        assert fragment.lstrip().startswith('<section id="endpoint-queues"')
        assert f'href="{CONSOLE_URL}/#/queues/%2F/{failed}"' in fragment
        assert re.search(rf'aria-label="{re.escape(failed)} in the RabbitMQ console: 2 messages"',
                         fragment)

        token = csrf_from(page.text)
        answer = client.post(f"/ui/endpoints/{endpoint.name}/redrive",
                             data={"csrf_token": token})
        assert answer.status_code == 303
        shown = client.get(answer.headers["Location"]).text
        assert f"Redrive of {endpoint.name}: 2 messages moved back" in shown
        assert channel.queue_declare(failed, passive=True).method.message_count == 0
    finally:
        connection.close()  # the app fixture deletes the endpoint's queues


def test_test_connection_on_a_self_signed_registry_fails_on_the_certificate_until_unverified(
    signed_in_client: FlaskClient, tls_registry: RegistryServer,
) -> None:
    fields = {"name": "draft", "url": tls_registry.url, "kind": "registry"}

    verified = _post(signed_in_client, "/ui/endpoints/test", {**fields, "verify_tls": "on"},
                     page="/ui/endpoints/new", **{"HX-Request": "true"})
    unverified = _post(signed_in_client, "/ui/endpoints/test", fields,
                       page="/ui/endpoints/new", **{"HX-Request": "true"})

    assert re.search(r'check-failed">\s*<th scope="row">tls</th>', verified.text)
    assert "certificate" in verified.text
    assert 'check-failed"' not in unverified.text
    assert "Passed" in unverified.text
