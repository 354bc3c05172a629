"""The console's Sources page through Flask's test client: the list, the create form
(the webhook secret shown once, with the set-up to paste), the edit form, regenerating
the secret and deleting, both after a confirmation."""

from __future__ import annotations

import html
import re

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from shared.store import Store
from tests.receiver.conftest import WEBHOOK_SECRET, Records
from tests.receiver.console.conftest import csrf_from

SCRIPT = "<script>alert('source')</script>"
SECRET_INPUT = re.compile(r'id="webhook-secret" class="secret-value" type="text" readonly '
                          r'value="([^"]+)"')


def _post(client: FlaskClient, path: str, data: dict[str, str],
          page: str | None = None) -> TestResponse:
    token = csrf_from(client.get(page or path).text)
    return client.post(path, data={**data, "csrf_token": token})


def _secret(answer: TestResponse) -> str:
    found = SECRET_INPUT.search(answer.text)
    assert found, "no secret on the page"
    return html.unescape(found.group(1))


def test_a_distribution_source_shows_its_secret_once_with_the_notifications_block(
    signed_in_client: FlaskClient, store: Store,
) -> None:
    answer = _post(signed_in_client, "/ui/sources/new", {
        "name": "hub", "kind": "distribution", "url": "http://hub.test:5000",
        "verify_tls": "on"})

    assert answer.status_code == 201, answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    secret = _secret(answer)
    assert len(secret) >= 32
    assert "notifications:" in answer.text
    assert f"Bearer {secret}" in answer.text
    assert "http://localhost/webhooks/hub" in answer.text
    source = store.get_source_by_name("hub")
    assert store.source_webhook_secret(source.id) == secret

    for path in ("/ui/sources/", "/ui/sources/hub/"):
        shown = signed_in_client.get(path).text
        assert secret not in shown, path
    assert "shown once, when it was set" in signed_in_client.get("/ui/sources/hub/").text


def test_a_harbor_source_shows_the_webhook_policy_to_paste(
    signed_in_client: FlaskClient,
) -> None:
    answer = _post(signed_in_client, "/ui/sources/new", {
        "name": "harbor", "kind": "harbor", "url": "https://harbor.test"})

    assert answer.status_code == 201, answer.text
    secret = _secret(answer)
    assert "POST /api/v2.0/projects/{project_name_or_id}/webhook/policies" in answer.text
    assert "PUSH_ARTIFACT" in answer.text and "DELETE_ARTIFACT" in answer.text
    assert f"&#34;auth_header&#34;: &#34;Bearer {secret}&#34;" in answer.text


def test_field_errors_show_beside_their_fields_and_a_script_is_escaped(
    signed_in_client: FlaskClient, store: Store,
) -> None:
    answer = _post(signed_in_client, "/ui/sources/new", {"name": "ok", "url": SCRIPT,
                                                        "username": SCRIPT})

    assert answer.status_code == 400
    assert 'id="error-kind"' in answer.text  # required, and not sent
    assert 'id="error-url"' in answer.text
    assert SCRIPT not in answer.text and "&lt;script&gt;" in answer.text
    assert store.list_sources() == []


def test_a_script_in_a_username_is_escaped_on_the_source_page(
    signed_in_client: FlaskClient, records: Records,
) -> None:
    records.source(name="odd", username=SCRIPT)

    listed = signed_in_client.get("/ui/sources/odd/").text

    assert SCRIPT not in listed and "&lt;script&gt;alert(" in listed


def test_a_name_taken_is_a_field_error(signed_in_client: FlaskClient, records: Records) -> None:
    records.source(name="taken")

    answer = _post(signed_in_client, "/ui/sources/new", {
        "name": "taken", "kind": "distribution", "url": "http://other.test:5000"})

    assert answer.status_code == 409
    assert 'id="error-name"' in answer.text


def test_an_edit_changes_the_source_and_keeps_its_secret(
    signed_in_client: FlaskClient, records: Records, store: Store,
) -> None:
    source = records.source(name="edited")

    answer = _post(signed_in_client, "/ui/sources/edited/", {
        "kind": "harbor", "url": "https://harbor.test", "username": "robot",
        "password": "pw", "verify_tls": "on"})

    assert answer.status_code == 303, answer.text
    changed = store.get_source(source.id)
    assert (changed.kind.value, changed.url, changed.username) == (
        "harbor", "https://harbor.test", "robot")
    assert store.source_webhook_secret(source.id) == WEBHOOK_SECRET

    refused = _post(signed_in_client, "/ui/sources/edited/", {"kind": "harbor", "url": "x"})
    assert refused.status_code == 400 and 'id="error-url"' in refused.text


def test_regenerating_asks_first_then_shows_the_new_secret_once(
    signed_in_client: FlaskClient, records: Records, store: Store,
) -> None:
    source = records.source(name="rotated")

    confirm = signed_in_client.get("/ui/sources/rotated/regenerate")
    assert "stops working at once" in confirm.text
    assert store.source_webhook_secret(source.id) == WEBHOOK_SECRET

    answer = _post(signed_in_client, "/ui/sources/rotated/regenerate", {})

    assert answer.status_code == 200
    secret = _secret(answer)
    assert secret != WEBHOOK_SECRET
    assert store.source_webhook_secret(source.id) == secret
    assert secret not in signed_in_client.get("/ui/sources/rotated/").text


def test_delete_asks_first_and_a_source_in_use_is_a_clear_409(
    signed_in_client: FlaskClient, records: Records, store: Store,
) -> None:
    source = records.source(name="used")
    rule = records.rule(source, records.endpoint())

    answer = _post(signed_in_client, "/ui/sources/used/delete", {})

    assert answer.status_code == 409
    assert "is in use" in answer.text and rule.name in answer.text
    assert store.get_source(source.id).name == "used"


def test_delete_after_the_confirmation_removes_the_source(
    signed_in_client: FlaskClient, records: Records, store: Store,
) -> None:
    records.source(name="gone")

    assert "cannot be undone" in signed_in_client.get("/ui/sources/gone/delete").text
    answer = _post(signed_in_client, "/ui/sources/gone/delete", {})

    assert answer.status_code == 303
    assert store.list_sources() == []
    assert "Source gone deleted" in signed_in_client.get(answer.headers["Location"]).text


def test_changes_without_the_csrf_token_are_refused(
    signed_in_client: FlaskClient, records: Records, store: Store,
) -> None:
    source = records.source(name="safe")

    for path in ("/ui/sources/safe/delete", "/ui/sources/safe/regenerate"):
        assert signed_in_client.post(path, data={}).status_code == 403, path

    assert store.source_webhook_secret(source.id) == WEBHOOK_SECRET
    assert _post(signed_in_client, "/ui/sources/safe/regenerate", {}).status_code == 200
    assert store.source_webhook_secret(source.id) != WEBHOOK_SECRET
