"""What keeps the blob pool full: independent content copies at the same time.

No timing here: a copy that should overlap uploads meets at a rendezvous that
only enough uploads in flight at once can pass; a serial copy never gets there.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from shared.copy.engine import CopyEngine, CopyOptions
from shared.registry import RegistryClient, RegistryConfig
from tests.clients import client_for
from tests.support.images import list_state, push_index
from tests.support.registry_server import RegistryServer

RENDEZVOUS_TIMEOUT = 30.0  # only ever reached when uploads never overlap


class Rendezvous:
    """The first `parties` arrivals wait for each other; later ones pass at once.

    Unlike `threading.Barrier`, a late arrival never waits for a next round, and
    a party that waits in vain is recorded instead of raising in a pool thread.
    """

    def __init__(self, parties: int) -> None:
        self.parties = parties
        self.arrived = 0
        self.missed = 0
        self._lock = threading.Lock()
        self._all_here = threading.Event()

    def arrive(self) -> None:
        with self._lock:
            self.arrived += 1
            if self.arrived >= self.parties:
                self._all_here.set()
        if not self._all_here.wait(RENDEZVOUS_TIMEOUT):
            with self._lock:
                self.missed += 1


class MeetingClient(RegistryClient):
    """A destination whose uploads each arrive at a rendezvous before sending."""

    def __init__(self, config: RegistryConfig, rendezvous: Rendezvous) -> None:
        super().__init__(config)
        self.rendezvous = rendezvous

    def upload_blob(self, repository: str, session: Any, digest: str, size: int,
                    source: Iterator[bytes], **kwargs: Any) -> str:
        self.rendezvous.arrive()
        return super().upload_blob(repository, session, digest, size, source, **kwargs)


def test_the_children_of_an_index_upload_their_blobs_together(
    registry: RegistryServer, registry2: RegistryServer
) -> None:
    # Given an index of three platforms, each a config and one layer (six blobs),
    # and a destination where uploads must meet three at a time
    index = push_index(registry.url, "lib/multi", "v1", layers=(20_000,), platforms=(
        ("linux", "amd64"), ("linux", "arm64"), ("linux", "s390x")))
    rendezvous = Rendezvous(parties=3)
    destination = MeetingClient(client_for(registry2).config, rendezvous)

    # When the index is copied with more blob workers than one child has blobs
    with CopyEngine(CopyOptions(blob_workers=6)) as engine:
        result = engine.copy(client_for(registry), "lib/multi", "v1", destination, "lib/multi")

    # Then blobs of several children were in flight at once, and the copy is whole
    assert rendezvous.missed == 0, "uploads of different children never overlapped"
    assert rendezvous.arrived == 6
    assert result.manifests_put == 4  # three children by digest, then the index
    assert list_state(registry2.url, "lib/multi") == {"v1": index.digest}
