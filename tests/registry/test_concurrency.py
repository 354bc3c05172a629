"""A client shared by threads learns a registry's auth scheme once, without failing
the requests that were already on their way."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from shared.registry import ManifestHead
from tests.clients import client_for
from tests.support.images import push_image
from tests.support.registry_server import RegistryServer


@pytest.mark.parametrize("kind", ["htpasswd_registry", "token_registry"])
def test_first_requests_in_parallel_all_authenticate(
    kind: str, request: pytest.FixtureRequest
) -> None:
    server: RegistryServer = request.getfixturevalue(kind)
    if kind == "htpasswd_registry":
        for i in range(4):
            push_image(server.url, f"lib/app{i}", "v1", session=server.session())
    for _round in range(5):
        client = client_for(server)  # a fresh client: it doesn't know the scheme yet

        def head(i: int, client: object = client) -> ManifestHead | None:
            return client.head_manifest(f"lib/app{i % 4}", "v1")  # type: ignore[attr-defined]

        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(head, range(32)))  # raises if one was refused
        if kind == "htpasswd_registry":
            assert all(answer is not None for answer in answers)
