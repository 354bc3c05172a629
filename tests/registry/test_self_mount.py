"""Finding out whether a registry honours a mount from a repository into itself."""

from __future__ import annotations

from typing import Any

import requests

from shared.errors import RegistryUnavailableError
from shared.registry.facts import SELF_MOUNT
from shared.registry.transport import Response
from tests.clients import client_for
from tests.support.images import push_image
from tests.support.registry_log import served
from tests.support.registry_server import RegistryServer


def test_distribution_honours_a_self_mount_and_is_asked_once(registry: RegistryServer) -> None:
    image = push_image(registry.url, "lib/app", "v1", layers=(1_000,))
    client = client_for(registry)
    assert not client.honours_self_mount()

    client.probe_self_mount("lib/app", image.blobs[-1][0])
    client.probe_self_mount("lib/app", image.blobs[0][0])

    assert client.honours_self_mount()
    mounts = [r for r in served(registry) if r.method == "POST" and "mount=" in r.query]
    assert [r.status for r in mounts] == [201]


def test_a_refused_self_mount_counts_as_not_honoured(registry: RegistryServer) -> None:
    client = client_for(registry)
    refusal = requests.Response()
    refusal.status_code = 400
    refusal._content = b'{"errors":[{"code":"UNSUPPORTED","message":"no mounts here"}]}'
    refusal._content_consumed = True
    refusal.url = f"{registry.url}/v2/lib/app/blobs/uploads/"

    def request(method: str, path: str, **_options: Any) -> Response:
        return refusal

    client.transport.request = request  # type: ignore[method-assign]

    client.probe_self_mount("lib/app", "sha256:" + "a" * 64)

    assert client.transport.facts.get(SELF_MOUNT) is False


def test_a_self_mount_probe_lost_to_the_network_leaves_it_unknown(
    registry: RegistryServer,
) -> None:
    client = client_for(registry)

    def request(method: str, path: str, **_options: Any) -> Response:
        raise RegistryUnavailableError("connection reset")

    client.transport.request = request  # type: ignore[method-assign]

    client.probe_self_mount("lib/app", "sha256:" + "a" * 64)

    assert client.transport.facts.get(SELF_MOUNT) is None
    assert client.transport.facts.claim(SELF_MOUNT)  # the next upload asks again
