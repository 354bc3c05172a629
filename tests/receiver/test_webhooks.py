"""``POST /webhooks/<source>`` with a real store and a real RabbitMQ."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pika
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from receiver.app import create_app
from receiver.services import current_services as services
from shared.messages import JobMessage, decode
from shared.queues import work_queue
from shared.settings import Settings
from shared.store import (
    EndpointRecord,
    JobRecord,
    JobStatus,
    NewJob,
    RuleRecord,
    Store,
    generate_secret_key,
)
from shared.writetoken import WriteToken, user_agent_for
from tests.receiver.conftest import WEBHOOK_SECRET, Records, sample_value
from tests.support.registry_server import free_port
from tests.support.settings import AMQP_URL

DIST = "application/vnd.docker.distribution.events.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64


def push(repository: str = "lib/app", tag: str | None = "v1", digest: str = DIGEST,
         media_type: str = MANIFEST) -> dict[str, Any]:
    target = {"mediaType": media_type, "repository": repository, "digest": digest,
              "url": f"http://ignored.example/v2/{repository}/manifests/{digest}"}
    if tag is not None:
        target["tag"] = tag
    return {"id": "e", "action": "push", "target": target, "request": {"method": "PUT"}}


def delete(repository: str = "lib/app", *, tag: str | None = None,
           digest: str | None = None) -> dict[str, Any]:
    target = {"repository": repository, **({"tag": tag} if tag else {}),
              **({"digest": digest} if digest else {})}
    return {"id": "d", "action": "delete", "target": target}


def post(client: FlaskClient, source: str, *events: dict[str, Any],
         body: bytes | None = None, content_type: str = DIST,
         authorization: str | None = f"Bearer {WEBHOOK_SECRET}") -> TestResponse:
    headers = {"Authorization": authorization} if authorization is not None else {}
    data = body if body is not None else json.dumps({"events": list(events)}).encode()
    return client.post(f"/webhooks/{source}", data=data, content_type=content_type,
                       headers=headers)


def body_of(response: TestResponse) -> dict[str, Any]:
    data = response.get_json()
    assert isinstance(data, dict), response.data
    return data


def queued(settings: Settings, endpoint: EndpointRecord) -> list[JobMessage]:
    """Take every message from the endpoint's work queue."""
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        channel = connection.channel()
        messages: list[JobMessage] = []
        while True:
            _method, _properties, body = channel.basic_get(
                work_queue(settings.queue_prefix, endpoint.name), auto_ack=True)
            if body is None:
                return messages
            messages.append(decode(body))
    finally:
        connection.close()


# -- accepted -------------------------------------------------------------------------------


def test_a_push_is_recorded_queued_for_the_endpoint_and_answered_202(
    client: FlaskClient, records: Records, settings: Settings, store: Store
) -> None:
    source, endpoint = records.source(), records.endpoint()
    rule = records.rule(source, endpoint)

    response = post(client, source.name, push(tag="v1"), push(tag=None, digest=OTHER))

    assert response.status_code == 202
    ids = body_of(response)["jobs"]
    assert body_of(response) == {"jobs": ids, "ignored": 0, "rejected": []}
    first, second = (store.get_job(i) for i in ids)
    assert (first.action, first.repository, first.tag, first.digest) == \
        ("replicate", "lib/app", "v1", DIGEST)
    assert (second.tag, second.digest) == (None, OTHER)  # a push by digest
    assert {first.status, second.status} == {JobStatus.PENDING}
    messages = queued(settings, endpoint)
    assert [m.job_id for m in messages] == ids
    assert messages[0].rule_id == rule.id and messages[0].endpoint == endpoint.name
    assert (messages[0].source_id, messages[0].tag) == (source.id, "v1")


def test_deletes_become_delete_jobs_and_repeats_in_one_body_are_merged(
    client: FlaskClient, records: Records, store: Store
) -> None:
    source = records.source()
    records.rule(source, records.endpoint())

    response = post(client, source.name, delete(digest=DIGEST), delete(tag="v1"),
                    delete(digest=DIGEST), push(tag="v2"), push(tag="v2"))

    jobs = [store.get_job(i) for i in body_of(response)["jobs"]]
    assert response.status_code == 202
    assert [(j.action, j.tag, j.digest) for j in jobs] == [
        ("delete", None, DIGEST), ("delete", "v1", None), ("replicate", "v2", DIGEST)]


def test_a_harbor_artifact_delete_with_a_tag_deletes_the_digest_and_the_tag(
    client: FlaskClient, records: Records, store: Store
) -> None:
    source = records.source(kind="harbor")
    records.rule(source, records.endpoint())
    body = {"type": "DELETE_ARTIFACT", "occur_at": 1755758290, "operator": "admin",
            "event_data": {"resources": [{"digest": DIGEST, "tag": "v1",
                                          "resource_url": "harbor.example/lib/app:v1"}],
                           "repository": {"repo_full_name": "lib/app", "namespace": "lib"}}}

    response = post(client, source.name, body=json.dumps(body).encode(),
                    content_type="application/json", authorization=f"Bearer {WEBHOOK_SECRET}")

    jobs = [store.get_job(i) for i in body_of(response)["jobs"]]
    assert [(j.action, j.tag, j.digest) for j in jobs] == [
        ("delete", None, DIGEST), ("delete", "v1", None)]


def test_every_rule_of_the_project_gets_its_job(
    client: FlaskClient, records: Records, settings: Settings, store: Store
) -> None:
    source = records.source()
    near, far = records.endpoint(), records.endpoint("https://far.test")
    records.rule(source, near)
    records.rule(source, far, dest_namespace="mirror")
    records.rule(records.source(), near)  # another source's rule

    response = post(client, source.name, push())

    assert sorted(store.get_job(i).endpoint_id for i in body_of(response)["jobs"]) == \
        sorted([near.id, far.id])
    assert len(queued(settings, near)) == len(queued(settings, far)) == 1


def test_a_harbor_resource_whose_tag_holds_a_colon_and_no_digest_makes_no_job(
    client: FlaskClient, records: Records
) -> None:
    source = records.source(kind="harbor")
    records.rule(source, records.endpoint())
    body = {"type": "PUSH_ARTIFACT", "occur_at": 1755758290, "operator": "admin",
            "event_data": {"resources": [{"tag": "v1:2", "resource_url": "h.example/lib/app"}],
                           "repository": {"repo_full_name": "lib/app", "namespace": "lib"}}}

    response = post(client, source.name, body=json.dumps(body).encode(),
                    content_type="application/json")

    assert response.status_code == 200
    assert body_of(response) == {"jobs": [], "ignored": 0, "rejected": [
        {"reason": "invalid_tag", "detail": "lib/app:v1:2"}]}
    assert records.all_jobs() == []


# -- nothing to do: 200 -----------------------------------------------------------------------


def test_no_matching_rule_is_answered_200_with_the_same_shape(
    client: FlaskClient, records: Records, store: Store
) -> None:
    source = records.source()
    records.rule(source, records.endpoint(), project="other")
    records.rule(source, records.endpoint(), project="lib", enabled=False)

    response = post(client, source.name, push("lib/app"), push("library/app"))

    assert response.status_code == 200
    assert body_of(response) == {"jobs": [], "ignored": 2, "rejected": []}
    assert records.all_jobs() == []


def delete_before_recording(store: Store, monkeypatch: pytest.MonkeyPatch,
                            *rules: RuleRecord) -> None:
    """Delete `rules` once the webhook has planned its jobs, just before it records them:
    the API's delete winning the race, every time."""
    create_jobs = store.create_jobs

    def delete_then_record(specs: Sequence[NewJob], **kwargs: Any) -> list[JobRecord]:
        monkeypatch.setattr(store, "create_jobs", create_jobs)
        for rule in rules:
            store.delete_rule(rule.id)
        return create_jobs(specs, **kwargs)

    monkeypatch.setattr(store, "create_jobs", delete_then_record)


def test_a_rule_deleted_while_its_event_is_in_flight_is_no_rule_not_503(
    client: FlaskClient, app: Flask, records: Records, monkeypatch: pytest.MonkeyPatch,
    store: Store,
) -> None:
    source = records.source()
    rule = records.rule(source, records.endpoint())
    delete_before_recording(store, monkeypatch, rule)

    response = post(client, source.name, push())

    assert response.status_code == 200, body_of(response)
    assert body_of(response) == {"jobs": [], "ignored": 1, "rejected": []}
    assert records.all_jobs() == []
    assert sample_value(app, "crossdock_receiver_events_ignored_total", source=source.name,
                        reason="no_rule") == 1
    assert sample_value(app, "crossdock_receiver_events_accepted_total",
                        source=source.name) == 0
    assert sample_value(app, "crossdock_receiver_webhooks_unavailable_total",
                        reason="store_busy") == 0


def test_the_rules_left_after_a_delete_in_flight_still_get_their_jobs(
    client: FlaskClient, app: Flask, records: Records, monkeypatch: pytest.MonkeyPatch,
    settings: Settings, store: Store,
) -> None:
    source = records.source()
    gone = records.rule(source, records.endpoint())
    kept_endpoint = records.endpoint("https://far.test")
    records.rule(source, kept_endpoint, tag_filters=[{"pattern": "v*"}])
    delete_before_recording(store, monkeypatch, gone)

    response = post(client, source.name, push(tag="v1"), push(tag="latest"))

    assert response.status_code == 202, body_of(response)
    [job] = [store.get_job(i) for i in body_of(response)["jobs"]]
    assert (job.endpoint_id, job.tag) == (kept_endpoint.id, "v1")
    assert [m.job_id for m in queued(settings, kept_endpoint)] == [job.id]
    assert body_of(response)["ignored"] == 1  # "latest": the rule left filters it out
    assert sample_value(app, "crossdock_receiver_events_ignored_total", source=source.name,
                        reason="filtered") == 1
    assert sample_value(app, "crossdock_receiver_events_accepted_total",
                        source=source.name) == 1


def test_rejected_and_ignored_events_are_answered_2xx_and_counted_in_metrics(
    client: FlaskClient, app: Flask, records: Records
) -> None:
    source = records.source()
    records.rule(source, records.endpoint())

    response = post(client, source.name,
                    push("Bad/Name"), push(tag="-x"),
                    push(media_type="application/octet-stream", tag=None),
                    {"action": "pull", "target": {"repository": "lib/app", "digest": DIGEST}},
                    push(tag="ok"))

    assert response.status_code == 202
    assert body_of(response)["ignored"] == 2
    assert body_of(response)["rejected"] == [
        {"reason": "invalid_repository", "detail": "Bad/Name"},
        {"reason": "invalid_tag", "detail": "lib/app:-x"}]
    metrics = client.get("/metrics").text
    assert (f'crossdock_receiver_events_rejected_total{{reason="invalid_repository",'
            f'source="{source.name}"}} 1.0') in metrics
    assert sample_value(app, "crossdock_receiver_events_received_total",
                        source=source.name) == 5
    assert sample_value(app, "crossdock_receiver_events_accepted_total", source=source.name) == 1
    assert sample_value(app, "crossdock_receiver_events_ignored_total", source=source.name,
                        reason="blob") == 1
    assert sample_value(app, "crossdock_receiver_jobs_created_total", action="replicate") == 1


def test_a_body_of_no_known_shape_is_answered_200_and_rejected(
    client: FlaskClient, app: Flask, records: Records
) -> None:
    source = records.source()

    response = post(client, source.name, body=b'{"hello": "world"}',
                    content_type="application/json")

    assert response.status_code == 200
    assert [r["reason"] for r in body_of(response)["rejected"]] == ["unknown_format"]
    assert sample_value(app, "crossdock_receiver_events_rejected_total", source=source.name,
                        reason="unknown_format") == 1


class LinkedPair:
    """Registries A and B, each linked as a source and an endpoint; the rules A→B and
    B→A; and a job of A→B that wrote lib/app:v1 into B."""

    def __init__(self, records: Records) -> None:
        a_url, b_url = "http://a.test:5000", "http://b.test:5000"
        store = records.store
        source_a, endpoint_a = records.source(a_url), records.endpoint(a_url)
        self.source_b, endpoint_b = records.source(b_url), records.endpoint(b_url)
        store.create_link(source_id=source_a.id, endpoint_id=endpoint_a.id)
        store.create_link(source_id=self.source_b.id, endpoint_id=endpoint_b.id)
        a_to_b = records.rule(source_a, endpoint_b)
        records.rule(self.source_b, endpoint_a)
        [self.job] = store.create_jobs([NewJob(
            rule_id=a_to_b.id, endpoint_id=endpoint_b.id, source_id=source_a.id,
            repository="lib/app", action="replicate", tag="v1")])


def written_by(settings: Settings, job: JobRecord, event: dict[str, Any]) -> dict[str, Any]:
    """`event` as Distribution sends it for a request crossdock made running `job`."""
    agent = user_agent_for(WriteToken(job.id, 1), settings.secret_key)
    return {**event, "request": {**event.get("request", {}), "useragent": agent}}


def test_an_echo_of_crossdocks_own_write_makes_no_job(
    client: FlaskClient, app: Flask, records: Records, store: Store, settings: Settings
) -> None:
    # Given registries A and B, each linked as a source and an endpoint, a rule A→B
    # whose job wrote lib/app:v1 into B, and the opposite rule B→A
    linked = LinkedPair(records)
    source_b, job = linked.source_b, linked.job

    # When B notifies that write, then a user's push of the very same image
    echo = post(client, source_b.name, written_by(settings, job, push(tag="v1")))
    user = post(client, source_b.name, push(tag="v1"))

    # Then only the user's push is replicated back to A: a restore is not an echo
    assert echo.status_code == 200
    assert body_of(echo) == {"jobs": [], "ignored": 1, "rejected": []}
    assert user.status_code == 202
    assert sample_value(app, "crossdock_receiver_events_ignored_total", source=source_b.name,
                        reason="echo") == 1
    assert sample_value(app, "crossdock_receiver_echo_drops_total", source=source_b.name) == 1


def test_a_forged_or_foreign_token_is_a_users_change(
    client: FlaskClient, records: Records, store: Store, settings: Settings
) -> None:
    linked = LinkedPair(records)
    source_b, job = linked.source_b, linked.job
    foreign = settings.replace(secret_key=generate_secret_key())

    response = post(client, source_b.name, written_by(foreign, job, push(tag="v1")))

    assert response.status_code == 202


def test_an_echo_for_one_rule_still_flows_down_a_chain(
    client: FlaskClient, records: Records, store: Store, settings: Settings
) -> None:
    # Given A→B (which wrote lib/app:v1 into B), and from B the rules B→A and B→C
    linked = LinkedPair(records)
    source_b, job = linked.source_b, linked.job
    onward = records.endpoint("http://c.test:5000")
    records.rule(source_b, onward)

    response = post(client, source_b.name, written_by(settings, job, push(tag="v1")))

    # Then it goes on to C, not back to A
    assert [store.get_job(i).endpoint_id for i in body_of(response)["jobs"]] == [onward.id]


def test_rule_filters_pick_repositories_and_tags(
    client: FlaskClient, records: Records, store: Store
) -> None:
    source = records.source()
    records.rule(source, records.endpoint(),
                 repo_filters=[{"pattern": "lib/app*"}],
                 tag_filters=[{"pattern": "v*"}, {"pattern": "*-rc*", "decision": "excludes"}])

    response = post(client, source.name,
                    push("lib/app", "v1"), push("lib/app-web", "v2"),   # kept
                    push("lib/app", "latest"), push("lib/app", "v3-rc1"),  # tag filters
                    push("lib/other", "v1"),                             # repository filter
                    push("lib/app", None, OTHER),                        # no tag to filter
                    delete("lib/app", digest=DIGEST),                    # no tag to filter
                    delete("lib/app", tag="latest"))                     # tag filters

    jobs = [store.get_job(i) for i in body_of(response)["jobs"]]
    assert [(j.action, j.repository, j.tag or j.digest) for j in jobs] == [
        ("replicate", "lib/app", "v1"), ("replicate", "lib/app-web", "v2"),
        ("replicate", "lib/app", OTHER), ("delete", "lib/app", DIGEST)]
    assert body_of(response)["ignored"] == 4


def test_a_rule_that_does_not_replicate_deletes_gets_no_delete_job(
    client: FlaskClient, records: Records
) -> None:
    source = records.source()
    records.rule(source, records.endpoint(), replicate_deletes=False)

    response = post(client, source.name, delete(digest=DIGEST), delete(tag="v1"))

    assert (response.status_code, body_of(response)["jobs"]) == (200, [])


# -- refused ----------------------------------------------------------------------------------


def test_a_missing_or_wrong_secret_is_401(client: FlaskClient, records: Records) -> None:
    source = records.source()
    records.rule(source, records.endpoint())

    missing = post(client, source.name, push(), authorization=None)
    wrong = post(client, source.name, push(), authorization="Bearer nope")
    other_scheme = post(client, source.name, push(), authorization=f"Basic {WEBHOOK_SECRET}")

    for response in (missing, wrong, other_scheme):
        assert response.status_code == 401
        assert body_of(response)["error"]["code"] == "unauthorized"
    assert records.all_jobs() == []


def test_the_bare_secret_is_accepted_as_harbor_may_send_it(
    client: FlaskClient, records: Records
) -> None:
    source = records.source()

    assert post(client, source.name, push(), authorization=WEBHOOK_SECRET).status_code == 200


def test_a_source_without_a_webhook_secret_accepts_nothing(
    client: FlaskClient, records: Records
) -> None:
    source = records.source(secret=None)

    assert post(client, source.name, push(), authorization="Bearer ").status_code == 401
    assert post(client, source.name, push(), authorization=None).status_code == 401


def test_an_unknown_source_is_404(client: FlaskClient) -> None:
    response = post(client, "nobody", push())

    assert response.status_code == 404
    assert body_of(response)["error"]["code"] == "not_found"


def test_a_body_that_is_not_json_is_400(client: FlaskClient, records: Records) -> None:
    source = records.source()

    response = post(client, source.name, body=b"<xml/>")

    assert response.status_code == 400
    assert body_of(response)["error"]["code"] == "bad_request"
    assert "not JSON" in body_of(response)["error"]["message"]


def test_a_body_over_the_limit_is_413_in_the_json_error_shape(
    client: FlaskClient, records: Records, settings: Settings
) -> None:
    source = records.source()
    records.rule(source, records.endpoint())
    event = push()
    event["padding"] = "x" * settings.max_body_bytes

    response = post(client, source.name, event)

    assert response.status_code == 413
    assert body_of(response)["error"]["code"] == "request_entity_too_large"
    assert records.all_jobs() == []


def test_an_unreachable_broker_is_503_and_leaves_no_job_behind(
    settings: Settings, store: Store, records: Records
) -> None:
    closed = settings.replace(amqp_url=f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F",
                              connect_timeout=1.0)
    app = create_app(closed, store=store)
    source = records.source()
    records.rule(source, records.endpoint())

    response = post(app.test_client(), source.name, push(tag="v1"), push(tag="v2"))

    assert response.status_code == 503
    assert response.headers["Retry-After"]
    error = body_of(response)["error"]
    assert (error["code"], error["reason"]) == ("unavailable", "unreachable")
    assert records.all_jobs() == []  # the registry sends the event again
    assert sample_value(app, "crossdock_receiver_publish_failures_total") == 1
    with app.app_context():
        services().publisher.close()


def harbor_push(operator: str, tag: str = "v1") -> bytes:
    return json.dumps({
        "type": "PUSH_ARTIFACT", "occur_at": 1755758290, "operator": operator,
        "event_data": {"resources": [{"digest": DIGEST, "tag": tag}],
                       "repository": {"repo_full_name": "lib/app", "namespace": "lib"}},
    }).encode()


def test_a_harbor_event_by_crossdocks_own_account_is_not_copied_back(
    client: FlaskClient, records: Records, store: Store
) -> None:
    # Given Harbor H (linked, crossdock writes there as robot$crossdock), a rule A→H,
    # and from H the rules H→A (back to the origin) and H→C (onward)
    h_url, a_url = "https://harbor.test", "http://a.test:5000"
    source_h = records.source(h_url, kind="harbor")
    endpoint_h = records.endpoint(h_url, kind="harbor")
    store.create_link(source_id=source_h.id, endpoint_id=endpoint_h.id,
                      harbor_account="robot$crossdock")
    source_a, endpoint_a = records.source(a_url), records.endpoint(a_url)
    store.create_link(source_id=source_a.id, endpoint_id=endpoint_a.id)
    records.rule(source_a, endpoint_h)
    onward = records.endpoint("http://c.test:5000")
    records.rule(source_h, endpoint_a)
    records.rule(source_h, onward)

    # When H reports a push by crossdock's account, and one by a user
    ours = post(client, source_h.name, body=harbor_push("robot$crossdock"),
                content_type="application/json")
    users = post(client, source_h.name, body=harbor_push("alice"),
                 content_type="application/json")

    # Then crossdock's own goes on to C only; the user's goes to both
    assert [store.get_job(i).endpoint_id for i in body_of(ours)["jobs"]] == [onward.id]
    assert sorted(store.get_job(i).endpoint_id for i in body_of(users)["jobs"]) == sorted(
        [endpoint_a.id, onward.id])
