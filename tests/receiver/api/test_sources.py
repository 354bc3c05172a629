"""``/api/v1/sources``: CRUD, the webhook secret shown once, the notification snippet."""

from __future__ import annotations

import yaml
from structlog.testing import capture_logs

from receiver.services.snippets import SECRET_PLACEHOLDER
from shared.store import Store
from tests.receiver.api.conftest import Api

GIVEN_SECRET = "a-given-webhook-secret-0123456789"


def test_a_distribution_source_gets_a_generated_secret_and_a_config_block(
    api: Api, store: Store
) -> None:
    created = api.source("dist", "http://registry.example.com:5000", username="reader",
                         password="source-pa55word")

    secret = created["webhook_secret"]
    assert len(secret) >= 40 and created["has_webhook_secret"] is True
    assert created["has_password"] is True and "password" not in created
    source = store.get_source_by_name("dist")
    assert store.source_webhook_secret(source.id) == secret
    setup = created["notification"]
    assert setup["webhook_url"] == "http://localhost/webhooks/dist"
    config = yaml.safe_load(setup["config_yml"])
    [endpoint] = config["notifications"]["endpoints"]
    assert endpoint["url"] == "http://localhost/webhooks/dist"
    assert endpoint["headers"] == {"Authorization": [f"Bearer {secret}"]}
    assert endpoint["ignoredmediatypes"] == ["application/octet-stream"]
    assert endpoint["ignore"] == {"actions": ["pull"]}
    assert {"timeout", "threshold", "backoff"} <= set(endpoint)


def test_the_secret_is_shown_once_then_a_placeholder(api: Api) -> None:
    created = api.source("dist")

    later = [api.ok("GET", "/sources/dist"), api.ok("GET", "/sources")["items"][0],
             api.ok("PATCH", "/sources/dist", {"verify_tls": False})]

    for answer in later:
        assert "webhook_secret" not in answer
        assert created["webhook_secret"] not in str(answer)
        assert SECRET_PLACEHOLDER in answer["notification"]["config_yml"]


def test_a_harbor_source_gets_a_webhook_policy(api: Api) -> None:
    created = api.source("harbor-a", "https://harbor.example.com", kind="harbor",
                         webhook_secret=GIVEN_SECRET)

    assert created["webhook_secret"] == GIVEN_SECRET
    setup = created["notification"]
    assert setup["request"] == "POST /api/v2.0/projects/{project_name_or_id}/webhook/policies"
    policy = setup["body"]
    assert policy["event_types"] == ["PUSH_ARTIFACT", "DELETE_ARTIFACT"]
    assert policy["enabled"] is True
    [target] = policy["targets"]
    assert target["address"] == "http://localhost/webhooks/harbor-a"
    assert target["auth_header"] == f"Bearer {GIVEN_SECRET}"
    assert target["type"] == "http"


def test_the_webhook_url_follows_the_host_the_api_was_called_on(api: Api) -> None:
    created = api.ok("POST", "/sources", {"name": "s", "url": "http://r:5000",
                                          "kind": "distribution"}, 201)
    assert created["notification"]["webhook_url"] == "http://localhost/webhooks/s"
    shown = api.get("/sources/s", base_url="https://crossdock.example.com:8443").get_json()
    assert shown["notification"]["webhook_url"] == "https://crossdock.example.com:8443/webhooks/s"


def test_the_secret_can_be_regenerated_or_replaced(api: Api, store: Store) -> None:
    first = api.source("dist")["webhook_secret"]
    source = store.get_source_by_name("dist")

    regenerated = api.ok("PATCH", "/sources/dist", {"regenerate_webhook_secret": True})
    assert regenerated["webhook_secret"] not in (first, None)
    assert store.source_webhook_secret(source.id) == regenerated["webhook_secret"]

    replaced = api.ok("PATCH", "/sources/dist", {"webhook_secret": GIVEN_SECRET})
    assert replaced["webhook_secret"] == GIVEN_SECRET
    assert store.source_webhook_secret(source.id) == GIVEN_SECRET

    both = api.patch("/sources/dist", {"webhook_secret": GIVEN_SECRET,
                                       "regenerate_webhook_secret": True})
    assert both.status_code == 400


def test_secrets_and_passwords_stay_out_of_the_logs(api: Api) -> None:
    with capture_logs() as logs:
        api.source("dist", password="source-pa55word", webhook_secret=GIVEN_SECRET)
        api.patch("/sources/dist", {"password": "other-pa55word"})
    text = str(logs)
    assert {"source created", "source changed"} <= {line["event"] for line in logs}
    assert "pa55word" not in text and GIVEN_SECRET not in text


def test_source_fields_are_validated(api: Api) -> None:
    cases = [
        ({"name": "s", "url": "http://r"}, "kind"),
        ({"name": "s", "url": "http://r", "kind": "quay"}, "kind"),
        ({"name": "s", "url": "http://r", "kind": "harbor", "webhook_secret": "short"},
         "webhook_secret"),
        ({"name": "s", "url": "http://r", "kind": "harbor",
          "webhook_secret": "has spaces in it, sixteen+"}, "webhook_secret"),
        ({"name": "s", "url": "http://r", "kind": "harbor",
          "webhook_secret": "0123456789abcdef0123\n"}, "webhook_secret"),
        ({"name": "s", "url": "http://r", "kind": "harbor",
          "regenerate_webhook_secret": True}, "regenerate_webhook_secret"),
    ]
    for body, field in cases:
        response = api.post("/sources", body)
        assert response.status_code == 400, body
        assert field in response.get_json()["error"]["fields"], body


def test_the_name_of_a_source_cannot_change(api: Api) -> None:
    api.source("dist")
    response = api.patch("/sources/dist", {"name": "other"})
    assert response.status_code == 400
    assert "webhook URL" in response.get_json()["error"]["fields"]["name"][0]


def test_a_source_is_deleted_unless_a_rule_uses_it(api: Api) -> None:
    api.source()
    api.source("spare")
    api.endpoint()
    api.rule(enabled=False)

    assert api.delete("/sources/origin").status_code == 409
    assert api.delete("/sources/spare").status_code == 204
    assert [s["name"] for s in api.ok("GET", "/sources")["items"]] == ["origin"]
    assert api.get("/sources/spare").status_code == 404


def test_a_regenerated_secret_applies_to_webhooks_at_once(api: Api) -> None:
    old = api.source("dist")["webhook_secret"]

    def deliver(secret: str) -> int:
        return api.client.post("/webhooks/dist", json={"events": []},
                               headers={"Authorization": f"Bearer {secret}"}).status_code

    assert deliver(old) == 200  # the webhook path now holds the source in its cache
    new = api.ok("PATCH", "/sources/dist", {"regenerate_webhook_secret": True})["webhook_secret"]

    assert (deliver(old), deliver(new)) == (401, 200)
