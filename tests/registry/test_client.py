"""The registry client against a real registry: listing, manifests, uploads."""

from __future__ import annotations

import hashlib
import json

import pytest
import requests

from shared.errors import DigestMismatchError, NotFoundError, UnsupportedManifestError
from shared.mediatypes import DOCKER_SCHEMA1_SIGNED, OCI_MANIFEST
from shared.registry import Manifest, listing
from shared.registry.facts import REFERRERS_ROUTE
from shared.registry.manifests import _verify
from tests.clients import client_for
from tests.support.images import push_image
from tests.support.registry_log import served
from tests.support.registry_server import RegistryServer


def test_catalog_follows_relative_links_across_pages(
    registry: RegistryServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [f"lib/app-{i}" for i in range(5)]
    for name in names:
        push_image(registry.url, name, "v1", layers=(10,))
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)  # 2.8 answers with a relative Link

    assert list(client_for(registry).catalog()) == names


def test_tags_are_sorted_and_unknown_repository_has_none(registry: RegistryServer) -> None:
    for tag in ("b", "v1", "a", "c"):
        push_image(registry.url, "lib/app", tag, layers=(10,))
    client = client_for(registry)

    assert client.tags("lib/app") == ["a", "b", "c", "v1"]
    assert client.tags("lib/none") == []


def test_referrers_api_missing_on_distribution_is_none(registry: RegistryServer) -> None:
    image = push_image(registry.url, "lib/app", "v1")

    assert client_for(registry).referrers("lib/app", image.digest) is None


def test_ping_reports_the_auth_scheme(
    registry: RegistryServer, htpasswd_registry: RegistryServer, token_registry: RegistryServer
) -> None:
    assert client_for(registry).ping().auth_scheme is None
    assert client_for(htpasswd_registry).ping().auth_scheme == "basic"
    assert client_for(token_registry).ping().auth_scheme == "bearer"
    assert client_for(registry).ping().api_version == "registry/2.0"


def test_manifest_fetched_by_digest_must_hash_to_it(registry: RegistryServer) -> None:
    image = push_image(registry.url, "lib/app", "v1")
    manifest = client_for(registry).get_manifest("lib/app", image.digest)

    assert manifest.digest == image.digest
    with pytest.raises(DigestMismatchError):
        _verify(Manifest(OCI_MANIFEST, manifest.data), "sha256:" + "0" * 64, None, "GET")


def test_manifest_fetched_by_a_sha512_digest_must_hash_to_it() -> None:
    body = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []}).encode()
    right = "sha512:" + hashlib.sha512(body).hexdigest()

    _verify(Manifest(OCI_MANIFEST, body), right, None, "GET")
    with pytest.raises(DigestMismatchError, match=f"content hashes to {right}"):
        _verify(Manifest(OCI_MANIFEST, body), "sha512:" + "0" * 128, None, "GET")


@pytest.mark.parametrize("chunk_size", [1 << 20, 1000], ids=["monolithic", "chunked"])
def test_a_blob_named_by_a_sha512_digest_is_checked_while_it_streams(
    registry: RegistryServer, chunk_size: int
) -> None:
    client = client_for(registry)
    data = b"sha512 content " * 200
    digest = "sha512:" + hashlib.sha512(data).hexdigest()
    wrong = "sha512:" + hashlib.sha512(b"something else").hexdigest()

    session = client.start_upload("lib/app")
    assert session is not None
    with pytest.raises(DigestMismatchError, match=f"source bytes hash to {digest}"):
        client.upload_blob("lib/app", session, wrong, len(data), iter([data]),
                           chunk_size=chunk_size)
    session = client.start_upload("lib/app")
    assert session is not None
    client.upload_blob("lib/app", session, digest, len(data), iter([data]),
                       chunk_size=chunk_size)

    assert client.blob_size("lib/app", digest) == len(data)
    assert client.blob_size("lib/app", wrong) is None


def test_schema1_manifest_is_a_clear_permanent_error() -> None:
    schema1 = Manifest(DOCKER_SCHEMA1_SIGNED, json.dumps({"schemaVersion": 1}).encode())

    with pytest.raises(UnsupportedManifestError, match="schema 1"):
        _verify(schema1, "v1", None, "GET manifest lib/app:v1")


def test_media_type_must_match_the_body() -> None:
    body = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                       "manifests": []}).encode()

    with pytest.raises(UnsupportedManifestError, match="does not match"):
        _verify(Manifest(OCI_MANIFEST, body), "v1", None, "GET")


def test_missing_blob_is_not_found(registry: RegistryServer) -> None:
    client = client_for(registry)
    digest = "sha256:" + hashlib.sha256(b"nothing").hexdigest()

    assert client.blob_size("lib/app", digest) is None
    with pytest.raises(NotFoundError), client.open_blob("lib/app", digest):
        pass


def test_a_registry_without_the_referrers_route_is_asked_once(registry: RegistryServer) -> None:
    # Given Distribution 2.8, which has no referrers route (a plain-text 404)
    first = push_image(registry.url, "lib/app", "v1")
    second = push_image(registry.url, "lib/web", "v1")
    client = client_for(registry)

    # When two images' referrers are asked for
    answers = [client.referrers("lib/app", first.digest),
               client.referrers("lib/web", second.digest)]

    # Then both are "no referrers API", and only the first question reached the registry
    assert answers == [None, None]
    asked = [r for r in served(registry) if "/referrers/" in r.path]
    assert [(r.method, r.status) for r in asked] == [("GET", 404)]


def test_a_registry_error_404_from_the_referrers_route_is_not_taken_for_a_missing_route(
    registry: RegistryServer,
) -> None:
    # Given a registry whose referrers route answers with an error document
    transport = client_for(registry).transport
    answer = requests.Response()
    answer.status_code = 404
    answer._content = b'{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]}'
    answer.url = f"{registry.url}/v2/lib/none/referrers/sha256:{'0' * 64}"
    sent: list[str] = []

    def request(method: str, path: str, **_options: object) -> requests.Response:
        sent.append(path)
        return answer

    transport.request = request  # type: ignore[method-assign]

    # When it is asked twice
    for _ in range(2):
        assert listing.referrers(transport, "lib/none", "sha256:" + "0" * 64) is None

    # Then it was asked twice: that 404 says nothing about the route
    assert len(sent) == 2
    assert transport.facts.get(REFERRERS_ROUTE) is None
