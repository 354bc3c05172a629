"""The copy engine against real registries: content, auth, TLS, failures."""

from __future__ import annotations

import pytest

from shared.copy import engine as engine_module
from shared.copy.engine import CopyEngine, CopyOptions
from shared.errors import (
    AuthenticationError,
    DigestMismatchError,
    NotFoundError,
    TLSError,
    UnsupportedOperationError,
)
from shared.mediatypes import DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST
from shared.registry import RegistryClient
from tests.clients import client_for
from tests.copy.conftest import EventLog
from tests.support.images import (
    cosign_tag,
    list_state,
    push_image,
    push_index,
    push_referrer,
)
from tests.support.registry_server import RegistryServer, corrupt_blob


def test_docker_v2_image_is_copied_byte_for_byte(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer
) -> None:
    image = push_image(registry.url, "lib/app", "v1", fmt="docker", layers=(4096, 70000))
    src, dst = client_for(registry), client_for(registry2)

    result = engine.copy(src, "lib/app", "v1", dst, "lib/app")

    assert result.status == "copied"
    assert result.digest == image.digest
    copied = dst.get_manifest("lib/app", "v1")
    assert copied.media_type == DOCKER_MANIFEST
    assert copied.data == image.manifest_bytes
    assert result.blobs_uploaded == 3  # config + two layers
    assert result.bytes_uploaded == sum(size for _digest, size in image.blobs)


def test_oci_image_lands_under_another_name_and_tag(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer
) -> None:
    image = push_image(registry.url, "lib/app", "v1", fmt="oci")

    engine.copy(client_for(registry), "lib/app", "v1", client_for(registry2), "mirror/app",
                tag="stable")

    assert list_state(registry2.url, "mirror/app") == {"stable": image.digest}
    assert client_for(registry2).get_manifest("mirror/app", "stable").media_type == OCI_MANIFEST


@pytest.mark.parametrize(("fmt", "media_type"), [("oci", OCI_INDEX), ("docker", DOCKER_LIST)])
def test_multi_arch_index_brings_every_child(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer,
    fmt: str, media_type: str,
) -> None:
    index = push_index(registry.url, "lib/multi", "v1", fmt=fmt)  # type: ignore[arg-type]
    dst = client_for(registry2)

    result = engine.copy(client_for(registry), "lib/multi", "v1", dst, "lib/multi")

    assert result.manifests_put == 3  # two children by digest, then the index
    copied = dst.get_manifest("lib/multi", "v1")
    assert (copied.media_type, copied.data) == (media_type, index.manifest_bytes)
    for child in index.children:
        assert dst.get_manifest("lib/multi", child.digest).data == child.manifest_bytes
        for digest, size in child.blobs:
            assert dst.blob_size("lib/multi", digest) == size


def test_signature_follows_its_image(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer
) -> None:
    image = push_image(registry.url, "lib/app", "v1")
    signature = push_referrer(registry.url, "lib/app", image)

    result = engine.copy(client_for(registry), "lib/app", "v1", client_for(registry2), "lib/app")

    state = list_state(registry2.url, "lib/app")
    assert state == {"v1": image.digest, cosign_tag(image.digest): signature.digest}
    assert [r.digest for r in result.referrers] == [signature.digest]
    assert client_for(registry2).get_manifest("lib/app", signature.digest).subject is not None


def test_a_signature_deleted_at_the_source_during_the_copy_is_skipped(
    events: EventLog, registry: RegistryServer, registry2: RegistryServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a signature tag found at the source (HEAD) and then deleted before its GET
    image = push_image(registry.url, "lib/app", "v1")

    def found_then_deleted(source: RegistryClient, repository: str, subject: str,
                           copied_apart: object = None) -> tuple[list[str], list[str]]:
        return [], [cosign_tag(subject)]

    monkeypatch.setattr(engine_module, "find_referrers", found_then_deleted)

    # When the image is copied
    with CopyEngine(CopyOptions(), on_event=events) as engine:
        result = engine.copy(client_for(registry), "lib/app", "v1", client_for(registry2),
                             "lib/app")

    # Then the image is there and the vanished signature is a log line, not a failure
    assert result.status == "copied"
    assert list_state(registry2.url, "lib/app") == {"v1": image.digest}
    assert any("is gone at the source: skipped" in line for line in events.lines)


def test_referrers_can_be_switched_off(
    events: EventLog, registry: RegistryServer, registry2: RegistryServer
) -> None:
    image = push_image(registry.url, "lib/app", "v1")
    push_referrer(registry.url, "lib/app", image)

    with CopyEngine(CopyOptions(copy_referrers=False), on_event=events) as engine:
        engine.copy(client_for(registry), "lib/app", "v1", client_for(registry2), "lib/app")

    assert list_state(registry2.url, "lib/app") == {"v1": image.digest}


def test_second_copy_transfers_no_blob_bytes(
    engine: CopyEngine, events: EventLog, registry: RegistryServer, registry2: RegistryServer
) -> None:
    push_image(registry.url, "lib/app", "v1", layers=(100_000, 200_000))
    src, dst = client_for(registry), client_for(registry2)
    first = engine.copy(src, "lib/app", "v1", dst, "lib/app")
    sent_before = events.progress_bytes

    second = engine.copy(src, "lib/app", "v1", dst, "lib/app")

    assert first.status == "copied" and first.bytes_uploaded > 300_000
    assert second.status == "skipped"
    assert second.bytes_uploaded == 0 and second.manifests_put == 0
    assert events.progress_bytes == sent_before


def test_shared_base_layer_crosses_once_then_mounts(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer
) -> None:
    base = (b"B" * 300_000,)
    push_image(registry.url, "lib/one", "v1", base_layers=base, layers=(1000,))
    push_image(registry.url, "lib/two", "v1", base_layers=base, layers=(2000,))
    src, dst = client_for(registry), client_for(registry2)

    engine.copy(src, "lib/one", "v1", dst, "lib/one")
    second = engine.copy(src, "lib/two", "v1", dst, "lib/two")

    assert second.blobs_mounted == 1
    assert second.bytes_uploaded < 300_000


def test_new_tag_on_existing_image_puts_only_the_manifest(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer
) -> None:
    push_image(registry.url, "lib/app", "v1", layers=(50_000,))
    src, dst = client_for(registry), client_for(registry2)
    engine.copy(src, "lib/app", "v1", dst, "lib/app")

    retag = engine.copy(src, "lib/app", "v1", dst, "lib/app", tag="v1-again")

    assert retag.status == "copied"
    assert retag.bytes_uploaded == 0 and retag.manifests_put == 1


def test_copy_by_digest_keeps_the_digest(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer
) -> None:
    image = push_image(registry.url, "lib/app", None)
    dst = client_for(registry2)

    result = engine.copy(client_for(registry), "lib/app", image.digest, dst, "lib/app")

    assert result.destination.endswith(f"lib/app@{image.digest}")
    assert dst.head_manifest("lib/app", image.digest) is not None
    assert dst.tags("lib/app") == []


def test_missing_source_image_is_not_found(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer
) -> None:
    with pytest.raises(NotFoundError):
        engine.copy(client_for(registry), "lib/none", "v1", client_for(registry2), "lib/none")


def test_corrupt_source_blob_fails_and_leaves_no_tag(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer
) -> None:
    image = push_image(registry.url, "lib/app", "v1", layers=(100_000,))
    layer_digest = image.blobs[-1][0]
    corrupt_blob(registry.storage_dir, layer_digest)
    dst = client_for(registry2)

    with pytest.raises(DigestMismatchError, match="hash"):
        engine.copy(client_for(registry), "lib/app", "v1", dst, "lib/app")

    assert dst.head_manifest("lib/app", "v1") is None
    assert dst.blob_size("lib/app", layer_digest) is None


@pytest.mark.slow
def test_large_blob_goes_through_chunked_upload(
    engine: CopyEngine, events: EventLog, registry: RegistryServer, registry2: RegistryServer
) -> None:
    image = push_image(registry.url, "lib/big", "v1", layers=(64 * 1024 * 1024 + 123,))
    dst = client_for(registry2)

    result = engine.copy(client_for(registry), "lib/big", "v1", dst, "lib/big")

    big_digest, big_size = image.blobs[-1]
    assert result.status == "copied"
    assert dst.blob_size("lib/big", big_digest) == big_size
    assert any("uploaded (chunked" in line and big_digest[:19] in line for line in events.lines)


# -- authentication and TLS ------------------------------------------------------------


def test_copy_into_htpasswd_registry(
    engine: CopyEngine, registry: RegistryServer, htpasswd_registry: RegistryServer
) -> None:
    image = push_image(registry.url, "lib/app", "v1")

    engine.copy(client_for(registry), "lib/app", "v1", client_for(htpasswd_registry), "lib/app")

    assert client_for(htpasswd_registry).head_manifest("lib/app", "v1").digest == image.digest  # type: ignore[union-attr]


def test_wrong_password_is_a_permanent_auth_error(
    engine: CopyEngine, registry: RegistryServer, htpasswd_registry: RegistryServer
) -> None:
    push_image(registry.url, "lib/app", "v1")
    wrong = client_for(htpasswd_registry, password="nope")

    with pytest.raises(AuthenticationError, match="401"):
        engine.copy(client_for(registry), "lib/app", "v1", wrong, "lib/app")


def test_copy_through_token_auth_both_ways_caches_tokens(
    engine: CopyEngine, registry: RegistryServer, token_registry: RegistryServer,
    registry2: RegistryServer,
) -> None:
    image = push_image(registry.url, "lib/app", "v1", layers=(1000, 2000, 3000))
    token_client = client_for(token_registry)

    engine.copy(client_for(registry), "lib/app", "v1", token_client, "lib/app")
    engine.copy(token_client, "lib/app", "v1", client_for(registry2), "lib/app")

    assert list_state(registry2.url, "lib/app") == {"v1": image.digest}
    requests_made = token_registry.token_server.requests  # type: ignore[union-attr]
    # One token per distinct scope set, not one per request (a copy makes ~15).
    assert 0 < len(requests_made) <= 6


def test_token_server_refusing_credentials_is_permanent(
    engine: CopyEngine, registry: RegistryServer, token_registry: RegistryServer
) -> None:
    push_image(registry.url, "lib/app", "v1")

    with pytest.raises(AuthenticationError):
        engine.copy(client_for(registry), "lib/app", "v1",
                    client_for(token_registry, password="bad"), "lib/app")


def test_tls_registry_with_ca_bundle(
    engine: CopyEngine, registry: RegistryServer, tls_registry: RegistryServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The bundle in the environment must not override the registry's own CA.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    image = push_image(registry.url, "lib/app", "v1")

    engine.copy(client_for(registry), "lib/app", "v1", client_for(tls_registry), "lib/app")

    assert client_for(tls_registry).head_manifest("lib/app", "v1").digest == image.digest  # type: ignore[union-attr]


def test_tls_registry_without_its_ca_is_refused(
    engine: CopyEngine, registry: RegistryServer, tls_registry: RegistryServer
) -> None:
    push_image(registry.url, "lib/app", "v1")
    no_ca = client_for(tls_registry, ca_bundle=None)

    with pytest.raises(TLSError, match="certificate verify failed"):
        engine.copy(client_for(registry), "lib/app", "v1", no_ca, "lib/app")


def test_tls_verification_can_be_switched_off(
    engine: CopyEngine, registry: RegistryServer, tls_registry: RegistryServer
) -> None:
    image = push_image(registry.url, "lib/app", "v1")
    unverified = client_for(tls_registry, ca_bundle=None, verify_tls=False)

    engine.copy(client_for(registry), "lib/app", "v1", unverified, "lib/app")

    assert unverified.head_manifest("lib/app", "v1").digest == image.digest  # type: ignore[union-attr]


# -- deletes -----------------------------------------------------------------------------


def test_deleted_manifest_is_gone(registry: RegistryServer) -> None:
    image = push_image(registry.url, "lib/app", "v1")
    client = client_for(registry)

    assert client.delete_manifest("lib/app", image.digest) is True

    assert client.head_manifest("lib/app", image.digest) is None
    assert client.delete_manifest("lib/app", image.digest) is False  # 404: already gone


def test_delete_on_registry_with_deletion_disabled_is_permanent(
    nodelete_registry: RegistryServer,
) -> None:
    image = push_image(nodelete_registry.url, "lib/app", "v1")

    with pytest.raises(UnsupportedOperationError, match="deletion is disabled"):
        client_for(nodelete_registry).delete_manifest("lib/app", image.digest)
