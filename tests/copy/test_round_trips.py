"""Requests per blob: where the destination honours a mount from a repository into
itself, that one POST both asks whether a blob is there and opens its upload, so
a blob costs a POST and a PUT, as in a bare copier; elsewhere a HEAD asks first.
"""

from __future__ import annotations

from typing import Any

from shared.copy.engine import CopyEngine
from shared.registry import RegistryClient
from shared.registry.transport import Response
from tests.clients import client_for
from tests.support.images import list_state, push_image
from tests.support.registry_log import Served, served
from tests.support.registry_server import RegistryServer


def blob_requests(requests: list[Served], repository: str) -> list[tuple[str, int]]:
    return sorted((r.method, r.status) for r in requests
                  if r.path.startswith(f"/v2/{repository}/blobs/"))


def test_once_the_destination_is_known_to_honour_self_mounts_a_blob_costs_no_head(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer
) -> None:
    # Given a destination that has had one image copied into it
    push_image(registry.url, "lib/one", "v1", layers=(30_000,))
    second = push_image(registry.url, "lib/two", "v1", layers=(40_000, 50_000))
    src, dst = client_for(registry), client_for(registry2)
    engine.copy(src, "lib/one", "v1", dst, "lib/one")
    before = len(served(registry2))

    # When another image is copied there
    result = engine.copy(src, "lib/two", "v1", dst, "lib/two")

    # Then each of its three blobs cost a POST (a mount from lib/two itself, which
    # doesn't hold it: an upload session) and a PUT, and no HEAD
    during = served(registry2)[before:]
    assert blob_requests(during, "lib/two") == [("POST", 202)] * 3 + [("PUT", 201)] * 3
    posts = [r for r in during if r.method == "POST"]
    assert all(r.query.startswith("mount=sha256") and "from=lib%2Ftwo" in r.query
               for r in posts)
    assert result.blobs_uploaded == 3
    assert list_state(registry2.url, "lib/two") == {"v1": second.digest}


def test_a_self_mount_finds_a_blob_already_in_the_repository(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer
) -> None:
    # Given a copied image, and a newer one at the source that shares its layer
    shared = b"L" * 60_000
    push_image(registry.url, "lib/app", "v1", layers=(shared,))
    newer = push_image(registry.url, "lib/app", "v2", layers=(shared, 1_000))
    src, dst = client_for(registry), client_for(registry2)
    engine.copy(src, "lib/app", "v1", dst, "lib/app")
    before = len(served(registry2))

    # When the newer one is copied
    result = engine.copy(src, "lib/app", "v2", dst, "lib/app")

    # Then the shared layer was found by its mount (201) and not sent again
    assert (result.blobs_present, result.blobs_uploaded) == (1, 2)
    assert result.bytes_uploaded < len(shared)
    during = served(registry2)[before:]
    assert blob_requests(during, "lib/app") == [("POST", 201)] + [("POST", 202)] * 2 + [
        ("PUT", 201)] * 2
    assert list_state(registry2.url, "lib/app")["v2"] == newer.digest


def ignoring_mounts(client: RegistryClient) -> RegistryClient:
    """`client`, with every mount dropped from its POSTs on the way out: what a
    registry without mounts does (an upload session, 202, for each)."""
    send = client.transport.request

    def without_mounts(method: str, path: str, **options: Any) -> Response:
        if method == "POST":
            options["params"] = None
        return send(method, path, **options)

    client.transport.request = without_mounts  # type: ignore[method-assign]
    return client


def test_a_destination_that_ignores_mounts_keeps_its_heads_and_is_sent_nothing_twice(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer
) -> None:
    # Given a destination that ignores mounts, holding an image already
    shared = b"S" * 60_000
    push_image(registry.url, "lib/app", "v1", layers=(shared,))
    push_image(registry.url, "lib/app", "v2", layers=(shared, 1_000))
    src, dst = client_for(registry), ignoring_mounts(client_for(registry2))
    engine.copy(src, "lib/app", "v1", dst, "lib/app")

    # When a newer image sharing its layer is copied
    result = engine.copy(src, "lib/app", "v2", dst, "lib/app")

    # Then that registry was found not to honour self-mounts, and a HEAD spared the layer
    assert not dst.honours_self_mount()
    assert (result.blobs_present, result.blobs_uploaded) == (1, 2)
    assert result.bytes_uploaded < len(shared)
