"""A read answered 500 is sent once more: Distribution writes its link files in
place, and a tag or blob read racing that write answers 500 a moment before the
same read succeeds (the transport's `RACED_READ_PAUSE`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.errors import RegistryUnavailableError
from shared.registry import RegistryClient
from shared.registry.transport import RegistryConfig
from tests.support.fault_proxy import FaultProxy
from tests.support.images import push_image
from tests.support.registry_server import RegistryServer


@pytest.fixture
def proxy(registry: RegistryServer) -> Iterator[FaultProxy]:
    with FaultProxy(registry.url) as running:
        yield running


def reads(proxy: FaultProxy, count: int) -> list[tuple[str, int]]:
    """The reads the proxy answered, once it has recorded `count` (it records a
    forwarded answer after sending it)."""

    def answered() -> list[tuple[str, int]]:
        return [(a.method, a.status) for a in proxy.answered if a.method in ("GET", "HEAD")]

    proxy.wait_for(lambda: len(answered()) >= count, timeout=10, what=f"{count} reads")
    return answered()


def test_a_tag_read_answered_500_once_is_read_again(
    registry: RegistryServer, proxy: FaultProxy
) -> None:
    image = push_image(registry.url, "lib/app", "v1", layers=(1_000,))
    client = RegistryClient(RegistryConfig(url=proxy.url))
    proxy.fail_reads(1)

    head = client.head_manifest("lib/app", "v1")

    assert head is not None and head.digest == image.digest
    assert reads(proxy, 2) == [("HEAD", 500), ("HEAD", 200)]

    proxy.fail_reads(1)
    assert client.get_manifest("lib/app", "v1").digest == image.digest
    assert reads(proxy, 4)[2:] == [("GET", 500), ("GET", 200)]


def test_a_registry_answering_500_again_is_unavailable_after_one_more_read(
    registry: RegistryServer, proxy: FaultProxy
) -> None:
    layer = push_image(registry.url, "lib/app", "v1", layers=(1_000,)).blobs[1][0]
    client = RegistryClient(RegistryConfig(url=proxy.url))
    proxy.fail_reads(3)

    with pytest.raises(RegistryUnavailableError, match="500"):
        client.blob_size("lib/app", layer)

    assert reads(proxy, 2) == [("HEAD", 500), ("HEAD", 500)]
