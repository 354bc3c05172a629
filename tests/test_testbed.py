"""Sanity checks for the test bed: real registries, token server, TLS, image builders."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import RegistryFactory, TokenServerFactory
from tests.support import images, registry_server
from tests.support.images import MANIFEST_ACCEPT, PushedImage
from tests.support.registry_server import RegistryServer, corrupt_blob
from tests.support.token_server import Scope, parse_scope

REPO = "lib/app"


def _jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    padded = payload + "=" * (-len(payload) % 4)
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
    return claims


def _challenge_params(header: str) -> dict[str, str]:
    """Parse a simple `Bearer k="v",k="v"` challenge (test values contain no quotes)."""
    scheme, _, rest = header.partition(" ")
    assert scheme == "Bearer"
    params = {}
    for item in rest.split('",'):
        key, _, value = item.partition("=")
        params[key.strip()] = value.strip('"')
    return params


def _fetch_manifest(base: str, repo: str, reference: str) -> requests.Response:
    resp = requests.get(
        f"{base}/v2/{repo}/manifests/{reference}", headers={"Accept": MANIFEST_ACCEPT}, timeout=10
    )
    assert resp.status_code == 200, resp.text
    return resp


# -- registries --------------------------------------------------------------------------


def test_plain_registry_answers_v2_with_api_version_header(registry: RegistryServer) -> None:
    resp = requests.get(f"{registry.url}/v2/", timeout=10)

    assert resp.status_code == 200
    assert resp.headers["Docker-Distribution-Api-Version"] == "registry/2.0"
    assert registry.url == f"http://{registry.host}"
    assert registry.log_path.exists()


def test_two_plain_registries_are_independent(
    registry: RegistryServer, registry2: RegistryServer
) -> None:
    images.push_image(registry.url, REPO, "v1")

    assert registry.port != registry2.port
    assert registry.storage_dir != registry2.storage_dir
    assert images.list_state(registry2.url, REPO) == {}


def test_htpasswd_registry_rejects_anonymous_and_accepts_basic(
    htpasswd_registry: RegistryServer,
) -> None:
    url = f"{htpasswd_registry.url}/v2/"
    creds = (htpasswd_registry.username, htpasswd_registry.password)

    anonymous = requests.get(url, timeout=10)
    wrong = requests.get(url, auth=(creds[0], "wrong"), timeout=10)
    good = requests.get(url, auth=creds, timeout=10)

    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert wrong.status_code == 401
    assert good.status_code == 200
    assert creds == ("alice", "s3cret")


def test_htpasswd_registry_session_pushes_images(htpasswd_registry: RegistryServer) -> None:
    with htpasswd_registry.session() as session:
        pushed = images.push_image(htpasswd_registry.url, REPO, "v1", session=session)
        state = images.list_state(htpasswd_registry.url, REPO, session=session)

    assert state == {"v1": pushed.digest}


def test_token_registry_challenges_then_accepts_a_token(token_registry: RegistryServer) -> None:
    token_server = token_registry.token_server
    assert token_server is not None

    challenge = requests.get(f"{token_registry.url}/v2/", timeout=10)
    params = _challenge_params(challenge.headers["WWW-Authenticate"])
    token_resp = requests.get(
        params["realm"],
        params={"service": params["service"], "scope": f"repository:{REPO}:pull,push"},
        auth=(token_registry.username, token_registry.password),
        timeout=10,
    )
    body = token_resp.json()
    bearer = {"Authorization": f"Bearer {body['token']}"}
    ping = requests.get(f"{token_registry.url}/v2/", headers=bearer, timeout=10)
    upload = requests.post(
        f"{token_registry.url}/v2/{REPO}/blobs/uploads/", headers=bearer, timeout=10
    )

    assert challenge.status_code == 401
    assert params["realm"] == token_server.realm
    assert token_resp.status_code == 200
    assert body["access_token"] == body["token"]
    assert body["expires_in"] == 300
    assert _jwt_claims(body["token"])["access"] == [
        {"type": "repository", "name": REPO, "actions": ["pull", "push"]}
    ]
    assert ping.status_code == 200
    assert upload.status_code == 202
    assert [(r.user, r.scopes) for r in token_server.requests] == [
        ("alice", (f"repository:{REPO}:pull,push",))
    ]


def test_token_server_grants_only_what_policy_allows(
    registry_factory: RegistryFactory, token_server_factory: TokenServerFactory
) -> None:
    token_server = token_server_factory(
        users={"alice": "s3cret", "bob": "pw"}, allowed_actions={"bob": {"pull"}}
    )
    reg = registry_factory(auth="token", token_server=token_server)

    def fetch(auth: tuple[str, str] | None) -> requests.Response:
        query = {"service": token_server.service, "scope": f"repository:{REPO}:pull,push"}
        return requests.get(token_server.realm, params=query, auth=auth, timeout=10)

    bob = fetch(("bob", "pw"))
    anonymous = fetch(None)
    bad = fetch(("alice", "nope"))
    upload = requests.post(
        f"{reg.url}/v2/{REPO}/blobs/uploads/",
        headers={"Authorization": f"Bearer {bob.json()['token']}"},
        timeout=10,
    )

    assert _jwt_claims(bob.json()["token"])["access"] == [
        {"type": "repository", "name": REPO, "actions": ["pull"]}
    ]
    assert _jwt_claims(anonymous.json()["token"])["access"] == []
    assert bad.status_code == 401
    assert upload.status_code == 401
    assert 'error="insufficient_scope"' in upload.headers["WWW-Authenticate"]
    assert [r.status for r in token_server.requests] == [200, 200, 401]


def test_minted_token_lets_setup_code_push_to_a_token_registry(
    token_registry: RegistryServer,
) -> None:
    token_server = token_registry.token_server
    assert token_server is not None
    access = [{"type": "repository", "name": REPO, "actions": ["pull", "push"]}]
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {token_server.mint_token('setup', access)}"
        pushed = images.push_image(token_registry.url, REPO, "v1", session=session)
        state = images.list_state(token_registry.url, REPO, session=session)

    assert state == {"v1": pushed.digest}
    assert token_server.requests == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("repository:lib/app:pull,push", Scope("repository", "lib/app", ("pull", "push"))),
        (
            "repository:127.0.0.1:5000/lib/app:pull",
            Scope("repository", "127.0.0.1:5000/lib/app", ("pull",)),
        ),
        ("registry:catalog:*", Scope("registry", "catalog", ("*",))),
    ],
)
def test_parse_scope_splits_on_first_and_last_colon(text: str, expected: Scope) -> None:
    assert parse_scope(text) == expected


def test_parse_scope_rejects_two_part_scopes() -> None:
    with pytest.raises(ValueError, match="malformed scope"):
        parse_scope("repository:lib/app")


def test_tls_registry_verifies_with_ca_bundle_and_fails_without(
    tls_registry: RegistryServer,
) -> None:
    assert tls_registry.ca_path is not None
    url = f"{tls_registry.url}/v2/"

    # verify= per request: REQUESTS_CA_BUNDLE would override Session.verify.
    trusted = requests.get(url, verify=str(tls_registry.ca_path), timeout=10)
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(url, verify=True, timeout=10)
    with tls_registry.session() as session:
        via_session = session.get(url, timeout=10)

    assert tls_registry.url.startswith("https://127.0.0.1:")
    assert trusted.status_code == 200
    assert via_session.status_code == 200


def test_nodelete_registry_answers_405_on_manifest_delete(
    nodelete_registry: RegistryServer,
) -> None:
    pushed = images.push_image(nodelete_registry.url, REPO, "v1")

    resp = requests.delete(
        f"{nodelete_registry.url}/v2/{REPO}/manifests/{pushed.digest}", timeout=10
    )

    assert resp.status_code == 405
    assert resp.json()["errors"][0]["code"] == "UNSUPPORTED"
    assert images.list_state(nodelete_registry.url, REPO) == {"v1": pushed.digest}


def test_registry_stops_and_leaves_no_process(registry_factory: RegistryFactory) -> None:
    reg = registry_factory()
    pid = reg.pid
    assert pid is not None

    reg.stop()
    reg.stop()

    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_registry_start_retries_when_another_registry_holds_its_port(
    registry: RegistryServer, registry_factory: RegistryFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a first port that a live registry already answers on,
    ports = iter([registry.port])
    real_free_port = registry_server.free_port
    monkeypatch.setattr(registry_server, "free_port", lambda: next(ports, real_free_port()))

    # when a second registry starts, it must not take the squatter's 200 for its own.
    second = registry_factory()

    assert second.port != registry.port
    assert "address already in use" in second.log_path.read_text()
    resp = requests.get(f"{second.url}/v2/", timeout=10)
    assert resp.headers[registry_server.INSTANCE_HEADER] == second.instance_id


def test_restarted_registry_keeps_its_port_and_content(registry: RegistryServer) -> None:
    pushed = images.push_image(registry.url, REPO, "v1")
    url = registry.url

    registry.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/v2/", timeout=10)
    registry.start()

    assert registry.url == url
    assert images.list_state(registry.url, REPO) == {"v1": pushed.digest}


def test_config_fills_notification_defaults_and_merges_extra(tmp_path: Path) -> None:
    server = RegistryServer(
        tmp_path,
        notifications=[{"url": "http://127.0.0.1:1/events", "headers": {"Authorization": "x"}}],
        extra={"notifications": {"events": {"includereferences": True}}, "log": {"level": "warn"}},
    )

    config = server.config()

    endpoint = config["notifications"]["endpoints"][0]
    assert endpoint["name"] == "listener0"
    assert endpoint["headers"] == {"Authorization": ["x"]}
    assert config["notifications"]["events"] == {"includereferences": True}
    assert config["log"] == {"level": "warn"}
    assert config["storage"]["maintenance"] == {"uploadpurging": {"enabled": False}}


# -- images ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "media_type"), [("oci", images.OCI_MANIFEST), ("docker", images.DOCKER_MANIFEST)]
)
def test_push_image_round_trips_byte_exact(
    registry: RegistryServer, fmt: images.Format, media_type: str
) -> None:
    pushed = images.push_image(registry.url, REPO, "v1", layers=[b"hello", 1000], fmt=fmt)

    by_digest = _fetch_manifest(registry.url, REPO, pushed.digest)
    manifest = json.loads(pushed.manifest_bytes)
    config = json.loads(
        requests.get(f"{registry.url}/v2/{REPO}/blobs/{pushed.blobs[0][0]}", timeout=10).content
    )

    assert images.list_state(registry.url, REPO) == {"v1": pushed.digest}
    assert pushed.media_type == media_type == by_digest.headers["Content-Type"]
    assert by_digest.content == pushed.manifest_bytes
    assert pushed.digest == "sha256:" + hashlib.sha256(pushed.manifest_bytes).hexdigest()
    assert [layer["size"] for layer in manifest["layers"]] == [5, 1000]
    assert config["rootfs"]["diff_ids"] == [layer["digest"] for layer in manifest["layers"]]
    for digest, size in pushed.blobs:
        head = requests.head(f"{registry.url}/v2/{REPO}/blobs/{digest}", timeout=10)
        assert head.status_code == 200
        assert int(head.headers["Content-Length"]) == size


def test_base_layers_are_shared_and_layers_are_fresh(registry: RegistryServer) -> None:
    first = images.push_image(registry.url, REPO, "a", base_layers=[4096], layers=[100])
    second = images.push_image(registry.url, "lib/other", "b", base_layers=[4096], layers=[100])

    assert first.blobs[1] == second.blobs[1]
    assert first.blobs[2] != second.blobs[2]


def test_seeded_images_are_reproducible_across_registries(
    registry: RegistryServer, registry2: RegistryServer
) -> None:
    one = images.push_image(registry.url, REPO, "v1", seed="fixed")
    two = images.push_image(registry2.url, REPO, "v1", seed="fixed")

    assert one.digest == two.digest


def test_layer_larger_than_a_chunk_is_uploaded_in_patches(registry: RegistryServer) -> None:
    size = images.CHUNK_SIZE + 123
    pushed = images.push_image(registry.url, REPO, "big", layers=[size])

    digest, stored_size = pushed.blobs[1]
    served = requests.get(f"{registry.url}/v2/{REPO}/blobs/{digest}", timeout=30)

    assert stored_size == size == len(served.content)
    assert "sha256:" + hashlib.sha256(served.content).hexdigest() == digest
    assert "PATCH /v2/lib/app/blobs/uploads/" in registry.log_path.read_text()


@pytest.mark.slow
def test_64_mib_layer_round_trips(registry: RegistryServer) -> None:
    pushed = images.push_image(registry.url, REPO, "huge", layers=[64 << 20])

    digest, size = pushed.blobs[1]
    hasher = hashlib.sha256()
    with requests.get(f"{registry.url}/v2/{REPO}/blobs/{digest}", stream=True, timeout=60) as r:
        for chunk in r.iter_content(1 << 20):
            hasher.update(chunk)

    assert size == 64 << 20
    assert "sha256:" + hasher.hexdigest() == digest


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [("oci", images.OCI_INDEX), ("docker", images.DOCKER_MANIFEST_LIST)],
)
def test_push_index_pushes_children_by_digest_and_index_by_tag(
    registry: RegistryServer, fmt: images.Format, media_type: str
) -> None:
    index = images.push_index(registry.url, REPO, "multi", fmt=fmt)

    entries = json.loads(_fetch_manifest(registry.url, REPO, "multi").content)["manifests"]

    assert images.list_state(registry.url, REPO) == {"multi": index.digest}
    assert index.media_type == media_type
    assert [e["platform"]["architecture"] for e in entries] == ["amd64", "arm64"]
    assert [e["digest"] for e in entries] == [c.digest for c in index.children]
    for child in index.children:
        assert child.tag is None
        assert _fetch_manifest(registry.url, REPO, child.digest).content == child.manifest_bytes


def test_push_referrer_is_reachable_by_digest_and_cosign_tag(registry: RegistryServer) -> None:
    subject = images.push_image(registry.url, REPO, "v1")

    referrer = images.push_referrer(registry.url, REPO, subject)

    manifest = json.loads(_fetch_manifest(registry.url, REPO, referrer.digest).content)
    cosign_tag = "sha256-" + subject.digest.removeprefix("sha256:") + ".sig"
    assert referrer.tag == cosign_tag
    assert manifest["subject"] == subject.descriptor()
    assert manifest["artifactType"] == images.COSIGN_SIG_ARTIFACT
    assert images.list_state(registry.url, REPO) == {
        "v1": subject.digest,
        cosign_tag: referrer.digest,
    }


def test_delete_manifest_drops_every_tag_on_the_digest(registry: RegistryServer) -> None:
    pushed = images.push_image(registry.url, REPO, "v1")
    images.push_image(registry.url, REPO, "keep")
    requests.put(
        f"{registry.url}/v2/{REPO}/manifests/v1-alias",
        data=pushed.manifest_bytes,
        headers={"Content-Type": pushed.media_type},
        timeout=10,
    ).raise_for_status()

    images.delete_manifest(registry.url, REPO, pushed.digest)

    assert set(images.list_state(registry.url, REPO)) == {"keep"}


def test_push_errors_carry_status_and_body(registry: RegistryServer) -> None:
    pushed = images.push_image(registry.url, REPO, "v1")
    images.delete_manifest(registry.url, REPO, pushed.digest)

    with pytest.raises(images.PushError, match=r"404.*MANIFEST_UNKNOWN"):
        images.delete_manifest(registry.url, REPO, pushed.digest)


def test_corrupt_blob_serves_same_length_with_other_digest(registry: RegistryServer) -> None:
    pushed: PushedImage = images.push_image(registry.url, REPO, "v1", layers=[2048])
    digest, size = pushed.blobs[1]

    corrupt_blob(registry.storage_dir, digest)
    served = requests.get(f"{registry.url}/v2/{REPO}/blobs/{digest}", timeout=10)

    assert served.status_code == 200
    assert len(served.content) == size
    assert "sha256:" + hashlib.sha256(served.content).hexdigest() != digest


# -- testcontainers ----------------------------------------------------------------------


@pytest.mark.docker
def test_testcontainers_registry_answers_v2(docker_registry_container: str) -> None:
    resp = requests.get(f"{docker_registry_container}/v2/", timeout=10)

    assert resp.status_code == 200
