"""``/api/v1/endpoints``: create, list, show, change, delete, and redrive the failed queue."""

from __future__ import annotations

import json

import pika
import pytest
from structlog.testing import capture_logs

from receiver.app import create_app
from shared.broker import (
    ATTEMPT_HEADER,
    ERROR_HEADER,
    ORIGIN_HEADER,
    REASON_HEADER,
    ROUND_START_HEADER,
    PublishRejectedError,
    declare_topology,
    endpoint_queue_names,
)
from shared.dispatch import job_message
from shared.messages import encode
from shared.queues import failed_queue, work_queue
from shared.settings import Settings
from shared.store import JobStatus, NewJob, Store
from tests.receiver.api.conftest import AMQP_URL, Api, RecordingPublisher, queue_messages
from tests.support.registry_server import free_port
from tests.support.settings import delete_queues

PASSWORD = "endpoint-pa55word-do-not-show"


def test_an_endpoint_is_created_listed_shown_changed_and_deleted(api: Api) -> None:
    created = api.endpoint("harbor-eu", "https://harbor.example.com:8443/", kind="harbor",
                           username="robot$mirror", password=PASSWORD, verify_tls=False)

    assert created["name"] == "harbor-eu" and created["kind"] == "harbor"
    assert created["url"] == "https://harbor.example.com:8443"  # no trailing slash
    assert created["has_password"] is True and "password" not in created
    assert created["verify_tls"] is False and created["ca_bundle"] is None
    assert api.ok("GET", "/endpoints")["items"] == [created]
    assert api.ok("GET", "/endpoints/harbor-eu") == created

    changed = api.ok("PATCH", "/endpoints/harbor-eu",
                     {"password": None, "ca_bundle": "/etc/ssl/harbor-ca.pem", "verify_tls": True})
    assert changed["has_password"] is False and changed["ca_bundle"] == "/etc/ssl/harbor-ca.pem"
    assert changed["username"] == "robot$mirror" and changed["id"] == created["id"]

    assert api.delete("/endpoints/harbor-eu").status_code == 204
    assert api.get("/endpoints/harbor-eu").status_code == 404
    assert api.ok("GET", "/endpoints")["items"] == []


def test_an_endpoint_defaults_to_a_plain_registry_with_tls_verified(api: Api) -> None:
    created = api.endpoint("plain", "http://127.0.0.1:5000")
    assert (created["kind"], created["verify_tls"], created["username"]) == (
        "registry", True, None)


def test_the_password_is_write_only_in_answers_and_logs(api: Api, store: Store) -> None:
    with capture_logs() as logs:
        api.endpoint("secretive", username="u", password=PASSWORD)
        api.patch("/endpoints/secretive", {"password": PASSWORD + "2"})
        api.post("/endpoints/ping", {"name": "secretive"})
        api.post("/endpoints/ping", {"url": "http://127.0.0.1:9", "password": PASSWORD})
        answers = [api.get("/endpoints").get_data(as_text=True),
                   api.get("/endpoints/secretive").get_data(as_text=True),
                   api.get("/openapi.json").get_data(as_text=True)]

    assert all(PASSWORD not in text for text in answers)
    assert {"endpoint created", "endpoint changed", "connection tested"} <= {
        line["event"] for line in logs}
    assert PASSWORD not in json.dumps(logs, default=str)
    endpoint = store.get_endpoint_by_name("secretive")
    assert store.endpoint_credentials(endpoint.id).password == PASSWORD + "2"


@pytest.mark.parametrize(("body", "field"), [
    ({"url": "http://x:5000"}, "name"),
    ({"name": "Upper", "url": "http://x:5000"}, "name"),
    ({"name": "-dash", "url": "http://x:5000"}, "name"),
    ({"name": "a" * 64, "url": "http://x:5000"}, "name"),
    ({"name": "a/b", "url": "http://x:5000"}, "name"),
    ({"name": "trailing\n", "url": "http://x:5000"}, "name"),
    ({"name": "ok"}, "url"),
    ({"name": "ok", "url": "ftp://x"}, "url"),
    ({"name": "ok", "url": "http://x:5000/v2/"}, "url"),
    ({"name": "ok", "url": "http://x:5000?q=1"}, "url"),
    ({"name": "ok", "url": "http://user:pw@x:5000"}, "url"),
    ({"name": "ok", "url": "http://x:99999"}, "url"),
    ({"name": "ok", "url": "http://[::1"}, "url"),
    ({"name": "ok", "url": "http://x", "kind": "quay"}, "kind"),
    ({"name": "ok", "url": "http://x", "verify_tls": "maybe"}, "verify_tls"),
    ({"name": "ok", "url": "http://x", "ca_bundle": "relative.pem"}, "ca_bundle"),
    ({"name": "ok", "url": "http://x", "password": ""}, "password"),
    ({"name": "ok", "url": "http://x", "username": "nul\x00"}, "username"),
    ({"name": "ok", "url": "http://x", "pasword": "typo"}, "pasword"),
])
def test_bad_fields_are_a_400_naming_them(api: Api, body: dict[str, object], field: str) -> None:
    response = api.post("/endpoints", body)

    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid" and field in error["fields"]


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b"\xff\xfe", b"[" * 100_000])
def test_a_body_that_is_not_a_json_object_is_a_400(api: Api, raw: bytes) -> None:
    response = api.post("/endpoints", data=raw, content_type="application/json")
    assert response.status_code == 400
    assert "_body" in response.get_json()["error"]["fields"]


def test_the_name_of_an_endpoint_cannot_change(api: Api) -> None:
    api.endpoint("fixed")

    response = api.patch("/endpoints/fixed", {"name": "moved", "url": "http://other:5000"})

    assert response.status_code == 400
    assert "queue names" in response.get_json()["error"]["fields"]["name"][0]
    assert api.ok("GET", "/endpoints/fixed")["url"] == "http://mirror.test:5000"


def test_a_taken_name_is_a_409(api: Api) -> None:
    api.endpoint("twice")
    response = api.post("/endpoints", {"name": "twice", "url": "http://x:1"})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "conflict"


def test_unknown_endpoints_are_a_404(api: Api) -> None:
    assert api.get("/endpoints/nope").status_code == 404
    assert api.get("/endpoints/NOT..valid%00").status_code == 404
    assert api.patch("/endpoints/nope", {"verify_tls": True}).status_code == 404
    assert api.delete("/endpoints/nope").status_code == 404
    assert api.post("/endpoints/nope/redrive").status_code == 404


def test_an_endpoint_used_by_a_rule_cannot_be_deleted(api: Api) -> None:
    api.endpoint()
    api.source()
    api.rule(enabled=False)

    response = api.delete("/endpoints/mirror")

    assert response.status_code == 409
    assert "lib-to-mirror" in response.get_json()["error"]["message"]
    assert api.get("/endpoints/mirror").status_code == 200


def test_redrive_moves_parked_messages_back_to_work_for_a_new_round_of_attempts(
    api: Api, store: Store, settings: Settings, publisher: RecordingPublisher
) -> None:
    api.endpoint()
    api.source()
    rule = api.rule(enabled=False)
    endpoint = store.get_endpoint_by_name("mirror")
    failed, succeeded = store.create_jobs([
        NewJob(rule_id=rule["id"], endpoint_id=endpoint.id, source_id=rule_source(store),
               repository="lib/app", tag=tag, action="replicate") for tag in ("v1", "v2")
    ])
    store.mark_finished(failed.id, JobStatus.FAILED, "401 unauthorized")
    store.mark_finished(succeeded.id, JobStatus.SUCCEEDED)
    publisher.ensure_endpoint("mirror")
    work = work_queue(settings.queue_prefix, "mirror")
    for job, reason in ((failed, "failed"), (succeeded, "exhausted")):
        # Parked the way a consumer parks: the attempt it runs as next, the error, the
        # origin.
        publisher.publish(failed_queue(settings.queue_prefix, "mirror"),
                          encode(job_message(job, "mirror")),
                          {ATTEMPT_HEADER: 3, ERROR_HEADER: "401", REASON_HEADER: reason,
                           ORIGIN_HEADER: work}, message_id=str(job.id))
    publisher.publish(failed_queue(settings.queue_prefix, "mirror"), b"garbage",
                      {ATTEMPT_HEADER: 5}, message_id="not-a-job")

    answer = api.ok("POST", "/endpoints/mirror/redrive")

    assert answer == {"endpoint": "mirror", "moved": 3, "jobs_reset": 1}
    moved = queue_messages(work)
    assert [message_id for _h, _b, message_id in moved] == [str(failed.id), str(succeeded.id),
                                                            "not-a-job"]
    # Only the attempt and where its new round starts are left (quorum queues add their
    # delivery count on reading).
    assert [{k: v for k, v in headers.items() if k != "x-delivery-count"}
            for headers, _b, _m in moved] == [{ATTEMPT_HEADER: 3, ROUND_START_HEADER: 3}] * 2 + [
                {ATTEMPT_HEADER: 5, ROUND_START_HEADER: 5}]
    assert moved[0][1] == encode(job_message(failed, "mirror"))
    assert queue_messages(failed_queue(settings.queue_prefix, "mirror")) == []
    retried = store.get_job(failed.id)
    assert retried.status is JobStatus.PENDING
    assert "retried by an operator" in store.job_log(failed.id)[-1].message
    assert store.get_job(succeeded.id).status is JobStatus.SUCCEEDED
    assert api.ok("POST", "/endpoints/mirror/redrive") == {
        "endpoint": "mirror", "moved": 0, "jobs_reset": 0}


def rule_source(store: Store) -> int:
    return store.get_source_by_name("origin").id


def existing(names: list[str]) -> list[str]:
    """Those of these queues that exist on the test broker."""
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    found = []
    try:
        for name in names:
            channel = connection.channel()
            try:
                channel.queue_declare(name, passive=True)
            except pika.exceptions.ChannelClosedByBroker:
                continue
            found.append(name)
            channel.close()
    finally:
        connection.close()
    return found


def test_deleting_an_endpoint_deletes_its_queues_those_of_earlier_delays_too(
    api: Api, store: Store, settings: Settings, publisher: RecordingPublisher
) -> None:
    # Given an endpoint whose queues were declared with today's settings and, before,
    # with other retry_delays and defer_seconds (each process records its delays),
    api.endpoint()
    earlier = settings.replace(retry_delays=(7,), defer_seconds=3)
    store.remember_queue_delays(earlier.retry_delays, [earlier.defer_seconds])
    names = endpoint_queue_names(settings, "mirror", (7,), (3,))
    try:
        publisher.ensure_endpoint("mirror")
        connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        declare_topology(connection, earlier, "mirror")
        connection.close()
        publisher.publish(work_queue(settings.queue_prefix, "mirror"), b"an orphan to be")
        assert len(existing(names)) == 9  # work, 4 + 1 retry tiers, 2 defer, failed

        # when it is deleted,
        with capture_logs() as logs:
            response = api.delete("/endpoints/mirror")

        # then every queue goes with it, its messages too,
        assert response.status_code == 204
        assert existing(names) == []
        assert api.get("/endpoints/mirror").status_code == 404
        [line] = [entry for entry in logs if entry["event"] == "endpoint deleted"]
        assert line["messages_dropped"] == 1
        # and this receiver's publisher declares none again for a late publish.
        with pytest.raises(PublishRejectedError, match="no queue"):
            publisher.publish(work_queue(settings.queue_prefix, "mirror"), b"late")
        assert existing(names) == []
    finally:
        delete_queues(names)


def test_an_endpoint_is_not_deleted_while_rabbitmq_is_unreachable(
    settings: Settings, store: Store, publisher: RecordingPublisher
) -> None:
    unreachable = settings.replace(amqp_url=f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F")
    app = create_app(unreachable, store=store, publisher=publisher)
    api = Api(app.test_client())
    api.endpoint()

    response = api.delete("/endpoints/mirror")

    assert response.status_code == 503
    assert "endpoint mirror was not deleted" in response.get_json()["error"]["message"]
    assert api.get("/endpoints/mirror").status_code == 200
