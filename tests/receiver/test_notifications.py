"""Parsing notification bodies: Distribution envelopes, Harbor Default and CloudEvents.

The Distribution samples are the envelopes a Debian `docker-registry` 2.8.2 sent
(captured with `includereferences: true`); the Harbor ones are rebuilt from Harbor's
source (protocols.md §11.1). Only the fields crossdock could read vary between
them, so each is built from its captured `target` plus the common wrapper.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from receiver.notifications import (
    NotJSONError,
    RegistryEvent,
    Rejection,
    is_blob_type,
    parse_notification,
)
from shared.writetoken import WriteToken, token_from_user_agent, user_agent_for

DIST_V1 = "application/vnd.docker.distribution.events.v1+json"
DIST_V2 = "application/vnd.docker.distribution.events.v2+json"
CLOUDEVENTS = "application/cloudevents+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

IMAGE = "sha256:fbce13586c6129ad8d79f551f801a3b7d137f577d61a30d1928f0718c2e53af8"
LAYER1 = "sha256:507e645a32c992e4d2cfe14772ebeb900b345f2099f37de660d16462e524c4f2"
LAYER2 = "sha256:7d30aa2904188fd23a5f99f8561ec2f4b39a50f78aea2fca61521cd57334c984"
CONFIG_DIGEST = "sha256:f65947d1295630d4d2d124168471dd8b56783694afe54bb9e3459c79a76b9f29"
HARBOR_DIGEST = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
REGISTRY = "http://127.0.0.1:5015"
REFERENCES = [
    {"mediaType": CONFIG, "size": 576, "digest": CONFIG_DIGEST},
    {"mediaType": LAYER, "size": 65798, "digest": LAYER1},
    {"mediaType": LAYER, "size": 65803, "digest": LAYER2},
]

# name -> (event id, action, request method, target), as captured.
DISTRIBUTION_SAMPLES: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    "push-blob": ("dec8d352-ad09-4495-8cc2-d1c852222929", "push", "PUT", {
        "mediaType": "application/octet-stream", "size": 65798, "digest": LAYER1,
        "length": 65798, "repository": "project1/app-0",
        "url": f"{REGISTRY}/v2/project1/app-0/blobs/{LAYER1}"}),
    "push-manifest": ("b01f9722-2e48-4bea-95aa-420e61a81db1", "push", "PUT", {
        "mediaType": MANIFEST, "size": 559, "digest": IMAGE, "length": 559,
        "repository": "project1/app-0", "url": f"{REGISTRY}/v2/project1/app-0/manifests/{IMAGE}",
        "tag": "v1", "references": REFERENCES}),
    "mount": ("e8b65005-a222-426f-be5e-4b440bff268f", "mount", "POST", {
        "mediaType": "application/octet-stream", "size": 65798, "digest": LAYER1,
        "length": 65798, "repository": "project1/app-1", "fromRepository": "project1/app-0",
        "url": f"{REGISTRY}/v2/project1/app-1/blobs/{LAYER1}"}),
    "pull": ("d9cd03d3-3d20-478e-adc1-8fada69cb9d2", "pull", "GET", {
        "mediaType": MANIFEST, "size": 559, "digest": IMAGE, "length": 559,
        "repository": "project1/app-0", "url": f"{REGISTRY}/v2/project1/app-0/manifests/{IMAGE}",
        "tag": "v1", "references": REFERENCES}),
    "delete-manifest": ("65eb476c-5623-4a69-8994-e219917ee266", "delete", "DELETE", {
        "digest": IMAGE, "repository": "project1/app-0"}),
    "delete-tag": ("b9f63a76-f1ef-4361-8d7f-16d50db1b7e7", "delete", "DELETE", {
        "repository": "project1/app-0", "tag": "v1"}),
    "delete-blob": ("bd22e021-e6a8-4c89-a53c-de18fc3ff91d", "delete", "DELETE", {
        "digest": LAYER2, "repository": "project1/app-0"}),
}
# The User-Agent each sample was captured with (the driver used requests, then curl).
SAMPLE_USER_AGENTS = {"push-blob": "python-requests/2.34.2",
                      "push-manifest": "python-requests/2.34.2",
                      "mount": "python-requests/2.34.2", "pull": "curl/7.88.1",
                      "delete-manifest": "curl/7.88.1", "delete-tag": "curl/7.88.1",
                      "delete-blob": "curl/7.88.1"}
REQUESTS_UA = "python-requests/2.34.2"

HARBOR_REPOSITORY = {"date_created": 1755700000, "name": "app", "namespace": "lib",
                     "repo_full_name": "lib/app", "repo_type": "private"}
HARBOR_PUSH_DEFAULT = {
    "type": "PUSH_ARTIFACT", "occur_at": 1755758290, "operator": "robot$lib+ci",
    "event_data": {
        "resources": [{"digest": HARBOR_DIGEST, "tag": "v1",
                       "resource_url": "harbor.example.com/lib/app:v1"}],
        "repository": HARBOR_REPOSITORY}}
HARBOR_DELETE_CLOUDEVENT = {
    "specversion": "1.0", "id": "6a0c2f4e-1b7d-4c55-9a51-3f2d0b8c9e10",
    "source": "/projects/3/webhook/policies/7", "type": "harbor.artifact.deleted",
    "datacontenttype": "application/json", "time": "2025-08-21T06:38:10Z",
    "requestid": "0d7e5a2c-8b1f-4f0a-bb3e-2c9d7e6f5a41", "operator": "admin",
    "data": {
        "resources": [{"digest": HARBOR_DIGEST, "tag": HARBOR_DIGEST,
                       "resource_url": f"harbor.example.com/lib/app@{HARBOR_DIGEST}"}],
        "repository": HARBOR_REPOSITORY}}


def dist_event(action: str, target: dict[str, Any], *, event_id: str = "e1",
               method: str = "PUT", useragent: str = REQUESTS_UA) -> dict[str, Any]:
    """One event with the wrapper fields 2.8 sends around `target`."""
    return {
        "id": event_id, "timestamp": "2026-11-26T20:44:44.564218726Z", "action": action,
        "target": target,
        "request": {"id": "fffe06bc-b780-452d-ab25-5f98589c5ddd", "addr": "127.0.0.1:39664",
                    "host": "127.0.0.1:5015", "method": method,
                    "useragent": useragent},
        "actor": {}, "source": {"addr": "vm:5015",
                                "instanceID": "33d5f6f1-51c1-4db3-b6e7-f7496c7604ad"},
    }


def envelope(*events: dict[str, Any]) -> bytes:
    """Pretty-printed with three spaces, as Distribution sends it."""
    return json.dumps({"events": list(events)}, indent=3).encode()


def sample(name: str) -> bytes:
    event_id, action, method, target = DISTRIBUTION_SAMPLES[name]
    return envelope(dist_event(action, target, event_id=event_id, method=method,
                               useragent=SAMPLE_USER_AGENTS[name]))


def harbor(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


# -- the samples ----------------------------------------------------------------------------


def test_a_manifest_push_by_tag_is_a_push_with_tag_and_digest() -> None:
    parsed = parse_notification(sample("push-manifest"), DIST_V1)

    assert parsed.format == "distribution"
    assert parsed.events == (RegistryEvent("push", "project1/app-0", "v1", IMAGE, MANIFEST,
                                           "b01f9722-2e48-4bea-95aa-420e61a81db1",
                                           user_agent=REQUESTS_UA),)
    assert parsed.ignored == ()
    assert parsed.rejections == ()


@pytest.mark.parametrize(("name", "reason"),
                         [("push-blob", "blob"), ("mount", "mount"), ("pull", "pull")])
def test_blob_pushes_mounts_and_pulls_are_ignored_not_rejected(name: str, reason: str) -> None:
    parsed = parse_notification(sample(name), DIST_V1)

    assert parsed.events == ()
    assert parsed.ignored == (reason,)
    assert parsed.rejections == ()
    assert parsed.received == 1


@pytest.mark.parametrize(("name", "tag", "digest"), [
    ("delete-manifest", None, IMAGE),
    ("delete-blob", None, LAYER2),  # same shape as a manifest delete: the consumer checks
    ("delete-tag", "v1", None),
])
def test_deletes_keep_the_digest_or_the_tag(name: str, tag: str | None,
                                            digest: str | None) -> None:
    event_id = DISTRIBUTION_SAMPLES[name][0]

    parsed = parse_notification(sample(name), DIST_V1)

    assert parsed.events == (RegistryEvent("delete", "project1/app-0", tag, digest, None,
                                           event_id, user_agent="curl/7.88.1"),)


def test_harbor_default_push() -> None:
    parsed = parse_notification(harbor(HARBOR_PUSH_DEFAULT), "application/json")

    assert parsed.format == "harbor"
    assert parsed.events == (RegistryEvent("push", "lib/app", "v1", HARBOR_DIGEST,
                                           operator="robot$lib+ci"),)


def test_harbor_cloudevent_delete_whose_tag_holds_the_digest_has_no_tag() -> None:
    parsed = parse_notification(harbor(HARBOR_DELETE_CLOUDEVENT), CLOUDEVENTS)

    assert parsed.format == "cloudevents"
    assert parsed.events == (RegistryEvent("delete", "lib/app", None, HARBOR_DIGEST, None,
                                           "6a0c2f4e-1b7d-4c55-9a51-3f2d0b8c9e10",
                                           operator="admin"),)


# -- Distribution envelopes ------------------------------------------------------------------


def test_a_batched_envelope_gives_each_event_its_own_outcome() -> None:
    child = "sha256:" + "1" * 64
    body = envelope(
        dist_event("push", DISTRIBUTION_SAMPLES["push-blob"][3], event_id="a"),
        dist_event("push", {"mediaType": MANIFEST, "digest": child, "repository": "lib/app"},
                   event_id="b"),
        dist_event("push", {"mediaType": MANIFEST, "digest": IMAGE, "repository": "lib/app",
                            "tag": "v2"}, event_id="c"),
        dist_event("pull", {"mediaType": MANIFEST, "digest": IMAGE, "repository": "lib/app"},
                   method="HEAD"),
        dist_event("delete", {"repository": "lib/app", "tag": "old"}, event_id="d"),
    )

    parsed = parse_notification(body, DIST_V2)

    assert parsed.events == (
        RegistryEvent("push", "lib/app", None, child, MANIFEST, "b", REQUESTS_UA),  # by digest
        RegistryEvent("push", "lib/app", "v2", IMAGE, MANIFEST, "c", REQUESTS_UA),
        RegistryEvent("delete", "lib/app", "old", None, None, "d", REQUESTS_UA),
    )
    assert parsed.ignored == ("blob", "pull")
    assert parsed.received == 5


def test_bad_names_are_rejected_and_the_rest_of_the_envelope_is_kept() -> None:
    body = envelope(
        dist_event("push", {"mediaType": MANIFEST, "digest": IMAGE, "repository": "Lib/App",
                            "tag": "v1"}),
        dist_event("push", {"mediaType": MANIFEST, "digest": IMAGE, "repository": "lib/app",
                            "tag": "-bad"}),
        dist_event("delete", {"repository": "lib/app", "digest": "sha256:short"}),
        dist_event("push", {"mediaType": MANIFEST, "digest": IMAGE, "repository": "lib/ok",
                            "tag": "v1"}),
        dist_event("delete", {"repository": "lib/app"}),
        dist_event("push", {"mediaType": MANIFEST, "digest": IMAGE, "tag": "v1"}),
        dist_event("push", {"mediaType": MANIFEST, "digest": IMAGE,
                            "repository": "lib/" + "a" * 300, "tag": "v1"}),
    )

    parsed = parse_notification(body, DIST_V1)

    assert parsed.events == (RegistryEvent("push", "lib/ok", "v1", IMAGE, MANIFEST, "e1",
                                           REQUESTS_UA),)
    assert [r.reason for r in parsed.rejections] == [
        "invalid_repository", "invalid_tag", "invalid_digest", "missing_reference",
        "missing_repository", "invalid_repository"]
    assert parsed.rejections[0] == Rejection("invalid_repository", "Lib/App")
    assert len(parsed.rejections[-1].detail) < 210  # long values are clipped


def test_urls_and_hosts_in_the_payload_are_never_taken() -> None:
    target = {"mediaType": MANIFEST, "digest": IMAGE, "repository": "lib/app", "tag": "v1",
              "url": "http://evil.example/v2/other/manifests/v9"}
    event = dist_event("push", target)
    event["request"]["host"] = "evil.example"

    [parsed] = parse_notification(envelope(event), DIST_V1).events

    assert parsed == RegistryEvent("push", "lib/app", "v1", IMAGE, MANIFEST, "e1", REQUESTS_UA)


def test_malformed_events_and_unknown_actions_are_rejected() -> None:
    body = json.dumps({"events": [
        "not an object",
        {"action": "push"},  # no target
        {"action": "push", "target": {"repository": 42}},
        dist_event("copy", {"repository": "lib/app", "tag": "v1"}),
    ]}).encode()

    parsed = parse_notification(body, DIST_V1)

    assert parsed.events == ()
    assert [r.reason for r in parsed.rejections] == [
        "malformed_event", "malformed_event", "malformed_event", "unknown_action"]


def test_a_push_of_an_index_or_an_unknown_artifact_type_is_a_manifest_push() -> None:
    body = envelope(
        dist_event("push", {"mediaType": "application/vnd.oci.image.index.v1+json",
                            "digest": IMAGE, "repository": "lib/app", "tag": "multi"}),
        dist_event("push", {"mediaType": "application/vnd.example.thing.v1+json",
                            "digest": IMAGE, "repository": "lib/app", "tag": "thing"}),
        dist_event("push", {"digest": IMAGE, "repository": "lib/app", "tag": "untyped"}),
    )

    parsed = parse_notification(body, DIST_V1)

    assert [e.tag for e in parsed.events] == ["multi", "thing", "untyped"]


@pytest.mark.parametrize("media_type", [
    "application/octet-stream", LAYER, CONFIG, "application/vnd.oci.empty.v1+json",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.container.image.v1+json",
    "application/vnd.cncf.helm.config.v1+json",
])
def test_blob_media_types(media_type: str) -> None:
    assert is_blob_type(media_type)


@pytest.mark.parametrize("media_type", [
    MANIFEST, "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json", None, "",
])
def test_manifest_media_types(media_type: str | None) -> None:
    assert not is_blob_type(media_type)


def test_the_shape_decides_for_plain_json_and_a_missing_content_type() -> None:
    assert parse_notification(sample("push-manifest"), "application/json").format == \
        "distribution"
    assert parse_notification(sample("push-manifest"), None).events
    assert parse_notification(harbor(HARBOR_DELETE_CLOUDEVENT), "application/json").events


# -- Harbor ------------------------------------------------------------------------------------


def test_harbor_push_by_digest_has_no_tag() -> None:
    document = json.loads(harbor(HARBOR_PUSH_DEFAULT))
    document["event_data"]["resources"][0]["tag"] = HARBOR_DIGEST

    [event] = parse_notification(json.dumps(document).encode(), "application/json").events

    assert (event.tag, event.digest) == (None, HARBOR_DIGEST)


@pytest.mark.parametrize(("tag", "digest", "rejection"), [
    ("v1:2", None, Rejection("invalid_tag", "lib/app:v1:2")),
    ("v1:2", HARBOR_DIGEST, Rejection("invalid_tag", "lib/app:v1:2")),
    ("md5:" + "a" * 32, None, Rejection("invalid_tag", "lib/app:md5:" + "a" * 32)),
    ("sha256:" + "A" * 64, None, Rejection("invalid_tag", "lib/app:sha256:" + "A" * 64)),
    ("v1", "blake3:" + "a" * 64, Rejection("invalid_digest", "lib/app@blake3:" + "a" * 64)),
])
def test_a_harbor_resource_with_a_bad_tag_or_digest_is_rejected(
    tag: str, digest: str | None, rejection: Rejection
) -> None:
    document = json.loads(harbor(HARBOR_PUSH_DEFAULT))
    document["event_data"]["resources"][0].update(tag=tag, digest=digest)

    parsed = parse_notification(json.dumps(document).encode(), "application/json")

    assert (parsed.events, parsed.rejections) == ((), (rejection,))


def test_a_harbor_artifact_without_a_tag_may_have_a_sha512_digest() -> None:
    sha512 = "sha512:" + "c" * 128
    document = json.loads(harbor(HARBOR_PUSH_DEFAULT))
    document["event_data"]["resources"][0].update(tag=sha512, digest=None)

    [event] = parse_notification(json.dumps(document).encode(), "application/json").events

    assert (event.tag, event.digest) == (None, sha512)


def test_harbor_delete_with_a_tag_keeps_tag_and_digest() -> None:
    document = dict(HARBOR_PUSH_DEFAULT, type="DELETE_ARTIFACT")

    [event] = parse_notification(harbor(document), "application/json").events

    assert event == RegistryEvent("delete", "lib/app", "v1", HARBOR_DIGEST,
                                  operator="robot$lib+ci")


@pytest.mark.parametrize(("event_type", "reason"), [
    ("PULL_ARTIFACT", "pull"), ("SCANNING_COMPLETED", "event_type"),
    ("QUOTA_EXCEED", "event_type"), ("TAG_RETENTION", "event_type"),
])
def test_harbor_types_that_change_no_artifact_are_ignored(event_type: str, reason: str) -> None:
    parsed = parse_notification(harbor(dict(HARBOR_PUSH_DEFAULT, type=event_type)),
                                "application/json")

    assert (parsed.events, parsed.ignored, parsed.rejections) == ((), (reason,), ())


@pytest.mark.parametrize(("event_type", "reason"), [
    ("harbor.artifact.pulled", "pull"), ("harbor.scan.failed", "event_type"),
    ("harbor.replication.status.changed", "event_type"),
])
def test_cloudevent_types_that_change_no_artifact_are_ignored(event_type: str,
                                                               reason: str) -> None:
    parsed = parse_notification(harbor(dict(HARBOR_DELETE_CLOUDEVENT, type=event_type)),
                                CLOUDEVENTS)

    assert parsed.ignored == (reason,)


def test_unknown_harbor_types_and_bad_harbor_data_are_rejected() -> None:
    unknown = parse_notification(harbor(dict(HARBOR_PUSH_DEFAULT, type="TAG_DELETED")),
                                 "application/json")
    no_data = parse_notification(harbor(dict(HARBOR_DELETE_CLOUDEVENT, data=None)), CLOUDEVENTS)
    bad_repo = json.loads(harbor(HARBOR_PUSH_DEFAULT))
    bad_repo["event_data"]["repository"]["repo_full_name"] = "lib//app"
    invalid = parse_notification(json.dumps(bad_repo).encode(), "application/json")
    no_resources = json.loads(harbor(HARBOR_PUSH_DEFAULT))
    no_resources["event_data"]["resources"] = []
    empty = parse_notification(json.dumps(no_resources).encode(), "application/json")

    assert unknown.rejections == (Rejection("unknown_type", "TAG_DELETED"),)
    assert [r.reason for r in no_data.rejections] == ["malformed_event"]
    assert [r.reason for r in invalid.rejections] == ["invalid_repository"]
    assert [r.reason for r in empty.rejections] == ["missing_reference"]


# -- unknown bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"{}", b'{"hello": "world"}', b"[1, 2]", b'"text"', b"null"])
def test_json_of_no_known_shape_is_one_rejection(body: bytes) -> None:
    parsed = parse_notification(body, "application/json")

    assert parsed.format == "unknown"
    assert [r.reason for r in parsed.rejections] == ["unknown_format"]
    assert parsed.received == 1


def test_a_distribution_content_type_without_an_events_list_is_rejected() -> None:
    parsed = parse_notification(b'{"events": {"action": "push"}}', DIST_V1)

    assert [r.reason for r in parsed.rejections] == ["unknown_format"]


@pytest.mark.parametrize("body", [b"", b"not json", b"{'single': 'quotes'}", b"\xff\xfe\x00",
                                  b"[" * 100_000])
def test_a_body_that_is_not_json_raises(body: bytes) -> None:
    with pytest.raises(NotJSONError):
        parse_notification(body, DIST_V1)


# -- who made the change (DESIGN invariant 3) --------------------------------------------------

SAMPLES = Path(__file__).parent / "samples"  # copies of /work/shared/samples
SECRET_KEY = Fernet.generate_key().decode()


def captured(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


@pytest.mark.parametrize(("name", "action", "user_agent"), [
    ("push-manifest", "push", "python-requests/2.34.2"),
    ("delete-manifest", "delete", "curl/7.88.1"),
    ("delete-tag", "delete", "curl/7.88.1"),
])
def test_captured_distribution_events_carry_the_request_user_agent(
        name: str, action: str, user_agent: str) -> None:
    [event] = parse_notification(captured(f"distribution/{name}.envelope.json"), DIST_V1).events

    assert (event.action, event.user_agent, event.operator) == (action, user_agent, None)


def test_captured_harbor_default_push_carries_the_operator() -> None:
    [event] = parse_notification(captured("harbor/push-artifact.default.json"),
                                 "application/json").events

    assert (event.action, event.operator, event.user_agent) == ("push", "robot$lib+ci", None)


def test_captured_harbor_cloudevent_carries_the_operator_extension() -> None:
    [event] = parse_notification(captured("harbor/delete-artifact.cloudevents.json"),
                                 CLOUDEVENTS).events

    assert (event.action, event.operator, event.user_agent) == ("delete", "admin", None)


def test_a_write_token_in_the_user_agent_parses_back_to_its_job() -> None:
    user_agent = user_agent_for(WriteToken(7, 2), SECRET_KEY)
    body = envelope(
        dist_event("push", {"mediaType": MANIFEST, "digest": IMAGE, "repository": "lib/app",
                            "tag": "v1"}, useragent=user_agent),
        dist_event("delete", {"repository": "lib/app", "tag": "v1"}, method="DELETE",
                   useragent=user_agent),
    )

    events = parse_notification(body, DIST_V1).events

    assert [token_from_user_agent(e.user_agent, SECRET_KEY) for e in events] == \
        [WriteToken(7, 2)] * 2


@pytest.mark.parametrize("request_record", [
    None, "a string", [], {}, {"useragent": None}, {"useragent": ""}, {"useragent": 42},
    {"useragent": {"nested": "object"}},
])
def test_a_missing_or_odd_request_record_means_no_user_agent_and_the_event_is_kept(
        request_record: object) -> None:
    event = dist_event("push", {"mediaType": MANIFEST, "digest": IMAGE,
                                "repository": "lib/app", "tag": "v1"})
    if request_record is None:
        del event["request"]
    else:
        event["request"] = request_record

    parsed = parse_notification(envelope(event), DIST_V1)

    assert parsed.rejections == ()
    assert [e.user_agent for e in parsed.events] == [None]


@pytest.mark.parametrize("operator", [None, "", 7, ["admin"]])
def test_a_missing_empty_or_odd_harbor_operator_is_none_and_the_event_is_kept(
        operator: object) -> None:
    default = dict(HARBOR_PUSH_DEFAULT, operator=operator)
    cloud = dict(HARBOR_DELETE_CLOUDEVENT, operator=operator)
    if operator is None:
        del default["operator"], cloud["operator"]

    parsed = [parse_notification(harbor(default), "application/json"),
              parse_notification(harbor(cloud), CLOUDEVENTS)]

    assert [[e.operator for e in p.events] for p in parsed] == [[None], [None]]
    assert [p.rejections for p in parsed] == [(), ()]


def test_a_very_long_user_agent_is_cut_but_a_token_at_its_start_survives() -> None:
    user_agent = user_agent_for(WriteToken(1, 1), SECRET_KEY) + " x" * 5000
    event = dist_event("push", {"mediaType": MANIFEST, "digest": IMAGE,
                                "repository": "lib/app", "tag": "v1"}, useragent=user_agent)

    [parsed] = parse_notification(envelope(event), DIST_V1).events

    assert parsed.user_agent is not None and len(parsed.user_agent) == 1024
    assert token_from_user_agent(parsed.user_agent, SECRET_KEY) == WriteToken(1, 1)


def test_events_that_differ_only_in_who_made_them_stay_distinct_and_hashable() -> None:
    by_user = RegistryEvent("push", "lib/app", "v1", IMAGE, user_agent="skopeo/1.13")
    by_crossdock = RegistryEvent("push", "lib/app", "v1", IMAGE,
                                 user_agent=user_agent_for(WriteToken(3, 1), SECRET_KEY))
    by_robot = RegistryEvent("push", "lib/app", "v1", IMAGE, operator="robot$lib+ci")

    assert len({by_user, by_crossdock, by_robot, by_user}) == 3
