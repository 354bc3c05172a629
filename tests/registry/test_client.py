"""The registry client against a real registry: listing, manifests, uploads."""

from __future__ import annotations

import hashlib
import json

import pytest

from shared.errors import DigestMismatchError, NotFoundError, UnsupportedManifestError
from shared.mediatypes import DOCKER_SCHEMA1_SIGNED, OCI_MANIFEST
from shared.registry import Manifest, listing
from shared.registry import client as client_module
from shared.registry.manifests import _verify
from tests.clients import client_for
from tests.support.fault_proxy import FaultProxy
from tests.support.images import push_image
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


def test_a_registry_without_the_referrers_api_is_not_asked_again_for_a_while(
    registry: RegistryServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = (push_image(registry.url, "lib/app", tag) for tag in ("v1", "v2"))
    clock = [1000.0]
    monkeypatch.setattr(client_module, "monotonic", lambda: clock[0])
    with FaultProxy(registry.url) as front:
        client = client_for(registry, url=front.url)

        found = [client.referrers("lib/app", image.digest) for image in (first, second)]
        asked = [a for a in front.answered if "/referrers/" in a.path]
        clock[0] += client_module.REFERRERS_API_RECHECK_SECONDS
        again = client.referrers("lib/app", first.digest)

        assert found == [None, None] and again is None
        assert [a.status for a in asked] == [404]  # once, then known to be missing
        assert len([a for a in front.answered if "/referrers/" in a.path]) == 2  # rechecked


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
