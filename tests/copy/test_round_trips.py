"""Requests per blob, and no write for a blob the destination repository holds.

A blob's presence is asked with a HEAD, never with a write. On Distribution's
filesystem storage a mount or upload of a blob the repository already holds
rewrites its link file, and whoever reads that file meanwhile (a pull, or the
manifest PUT of another of our own jobs) gets a 500 or `DIGEST_INVALID`: an
earlier "self-mount" shortcut made 4 % of a 300-tag sync fail that way.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs

import requests

from shared.copy.engine import CopyEngine
from tests.clients import client_for
from tests.support.images import list_state, push_image
from tests.support.registry_log import Served, served
from tests.support.registry_server import RegistryServer


def blob_requests(log: list[Served], repository: str) -> list[tuple[str, int]]:
    return sorted((r.method, r.status) for r in log
                  if r.path.startswith(f"/v2/{repository}/blobs/"))


def blob_writes(log: list[Served]) -> Counter[tuple[str, str]]:
    """(repository, digest) -> how many times it was mounted or committed there."""
    writes: Counter[tuple[str, str]] = Counter()
    for request in log:
        if "/blobs/uploads/" not in request.path:
            continue
        repository = request.path.removeprefix("/v2/").split("/blobs/uploads/")[0]
        query = parse_qs(request.query)
        if request.method == "POST" and "mount" in query:
            writes[repository, query["mount"][0]] += request.status == 201
        elif request.method == "PUT" and "digest" in query:
            writes[repository, query["digest"][0]] += 1
    return writes


class WritesWatched:
    """Holds back each write of one blob into `client`'s registry (its upload, or a
    mount of it) for half a second, and records the HEADs of that blob, in the
    repository being written, meanwhile."""

    def __init__(self, client: Any, digest: str) -> None:
        self.digest = digest
        self.heads_meanwhile: list[str] = []
        self._writing: set[str] = set()
        self._lock = threading.Lock()
        blob_size, upload_blob, start_upload = (client.blob_size, client.upload_blob,
                                                client.start_upload)

        def watched_blob_size(repository: str, digest: str) -> int | None:
            with self._lock:
                if digest == self.digest and repository in self._writing:
                    self.heads_meanwhile.append(repository)
            return blob_size(repository, digest)  # type: ignore[no-any-return]

        def slow_upload(repository: str, session: Any, digest: str, *args: Any,
                        **options: Any) -> str:
            with self.into(repository, digest):
                return upload_blob(  # type: ignore[no-any-return]
                    repository, session, digest, *args, **options)

        def slow_mount(repository: str, *, mount: tuple[str, str] | None = None) -> Any:
            with self.into(repository, mount[0] if mount else ""):
                return start_upload(repository, mount=mount)

        client.blob_size = watched_blob_size
        client.upload_blob = slow_upload
        client.start_upload = slow_mount

    @contextmanager
    def into(self, repository: str, digest: str) -> Iterator[None]:
        if digest != self.digest:
            yield
            return
        with self._lock:
            self._writing.add(repository)
        try:
            time.sleep(0.5)
            yield
        finally:
            with self._lock:
                self._writing.discard(repository)


def test_a_new_blob_costs_a_head_a_post_and_a_put(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer
) -> None:
    image = push_image(registry.url, "lib/two", "v1", layers=(40_000, 50_000))
    src, dst = client_for(registry), client_for(registry2)

    result = engine.copy(src, "lib/two", "v1", dst, "lib/two")

    assert blob_requests(served(registry2), "lib/two") == (
        [("HEAD", 404)] * 3 + [("POST", 202)] * 3 + [("PUT", 201)] * 3)
    assert result.blobs_uploaded == 3
    assert list_state(registry2.url, "lib/two") == {"v1": image.digest}


def test_a_blob_the_repository_holds_costs_one_head_and_no_write(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer
) -> None:
    # Given an image at the destination that somebody else put there, and a newer
    # one at the source that shares its layer
    shared = b"L" * 60_000
    push_image(registry2.url, "lib/app", "v1", layers=(shared,))
    newer = push_image(registry.url, "lib/app", "v2", layers=(shared, 1_000))
    src, dst = client_for(registry), client_for(registry2)
    before = len(served(registry2))

    # When the newer one is copied
    result = engine.copy(src, "lib/app", "v2", dst, "lib/app")

    # Then the shared layer was found by a HEAD and neither mounted nor sent again
    assert (result.blobs_present, result.blobs_uploaded) == (1, 2)
    during = served(registry2)[before:]
    assert blob_requests(during, "lib/app") == (
        [("HEAD", 200)] + [("HEAD", 404)] * 2 + [("POST", 202)] * 2 + [("PUT", 201)] * 2)
    assert list_state(registry2.url, "lib/app")["v2"] == newer.digest


def test_a_blob_this_process_just_put_there_is_not_asked_about_again(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer
) -> None:
    # Given a copied image, and a newer one at the source that shares its layer
    shared = b"L" * 60_000
    push_image(registry.url, "lib/app", "v1", layers=(shared,))
    newer = push_image(registry.url, "lib/app", "v2", layers=(shared, 1_000))
    src, dst = client_for(registry), client_for(registry2)
    engine.copy(src, "lib/app", "v1", dst, "lib/app")
    before = len(served(registry2))

    # When the newer one is copied right after
    result = engine.copy(src, "lib/app", "v2", dst, "lib/app")

    # Then the layer it put there a moment ago cost no request at all
    assert (result.blobs_present, result.blobs_uploaded) == (1, 2)
    during = served(registry2)[before:]
    assert blob_requests(during, "lib/app") == (
        [("HEAD", 404)] * 2 + [("POST", 202)] * 2 + [("PUT", 201)] * 2)
    assert list_state(registry2.url, "lib/app")["v2"] == newer.digest


def test_a_remembered_blob_gone_from_the_destination_is_sent_again(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer
) -> None:
    # Given a copied image whose layer then left the destination repository
    shared = b"G" * 60_000
    first = push_image(registry.url, "lib/app", "v1", layers=(shared,))
    newer = push_image(registry.url, "lib/app", "v2", layers=(shared, 1_000))
    src, dst = client_for(registry), client_for(registry2)
    engine.copy(src, "lib/app", "v1", dst, "lib/app")
    layer = first.blobs[1][0]
    assert requests.delete(f"{registry2.url}/v2/lib/app/blobs/{layer}",
                           timeout=10).status_code == 202

    # When the newer one, sharing that layer, is copied
    result = engine.copy(src, "lib/app", "v2", dst, "lib/app")

    # Then the manifest PUT found the layer missing, and it was checked and sent again
    assert result.status == "copied"
    puts = [r.status for r in served(registry2) if r.method == "PUT"
            and r.path == "/v2/lib/app/manifests/v2"]
    assert puts == [400, 201]
    assert list_state(registry2.url, "lib/app")["v2"] == newer.digest
    assert requests.head(f"{registry2.url}/v2/lib/app/blobs/{layer}",
                         timeout=10).status_code == 200


def test_images_copied_at_once_into_one_repository_write_each_blob_there_once(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer
) -> None:
    # Given 24 tags of one repository sharing a base layer, copied 8 at a time
    # (what a consumer does with an execution's jobs under one lease), while
    # somebody pulls the base from the destination once it is there
    base = b"B" * 200_000
    images = {f"t{n:02d}": push_image(registry.url, "lib/app", f"t{n:02d}",
                                      layers=(base, 2_000))
              for n in range(24)}
    base_digest = images["t00"].blobs[1][0]  # blobs[0] is the config
    src, dst = client_for(registry), client_for(registry2)
    stop, failures = threading.Event(), Counter[int]()
    # The base's upload is held back long enough for every thread to come to it
    # while it is being written: the race, on purpose
    writing = WritesWatched(dst, base_digest)

    def pull_base() -> None:
        seen = False
        with requests.Session() as session:
            while not stop.is_set():
                answer = session.head(f"{registry2.url}/v2/lib/app/blobs/{base_digest}",
                                      timeout=10)
                seen = seen or answer.status_code == 200
                if seen and answer.status_code != 200:
                    failures[answer.status_code] += 1

    puller = threading.Thread(target=pull_base)
    puller.start()
    try:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda tag: engine.copy(src, "lib/app", tag, dst, "lib/app"),
                                    sorted(images)))
    finally:
        stop.set()
        puller.join()

    # Then every blob was written into the repository once, never again once there
    writes = blob_writes(served(registry2))
    assert writes[("lib/app", base_digest)] == 1
    assert max(writes.values()) == 1
    assert sum(r.blobs_present for r in results) == 23
    assert not failures
    # and no thread asked about the base there while it was being written (a HEAD
    # then can read a half-written link file: 500)
    assert writing.heads_meanwhile == []
    assert list_state(registry2.url, "lib/app") == {
        tag: image.digest for tag, image in images.items()}


def test_tags_of_one_repository_mount_a_blob_known_elsewhere_there_once(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer
) -> None:
    # Given a base layer this process put into lib/base, and 8 tags of lib/app on it
    base = b"M" * 100_000
    push_image(registry.url, "lib/base", "v1", layers=(base,))
    images = {f"t{n}": push_image(registry.url, "lib/app", f"t{n}", layers=(base, 1_000))
              for n in range(8)}
    base_digest = images["t0"].blobs[1][0]
    src, dst = client_for(registry), client_for(registry2)
    engine.copy(src, "lib/base", "v1", dst, "lib/base")
    # and its mount into lib/app held back, so that every tag comes to it meanwhile
    writing = WritesWatched(dst, base_digest)

    # When the 8 tags are copied at once
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda tag: engine.copy(src, "lib/app", tag, dst, "lib/app"),
                                sorted(images)))

    # Then the base was mounted into lib/app once, and not asked about meanwhile
    assert blob_writes(served(registry2))[("lib/app", base_digest)] == 1
    assert sum(r.blobs_mounted for r in results) == 1
    assert writing.heads_meanwhile == []
    assert list_state(registry2.url, "lib/app") == {
        tag: image.digest for tag, image in images.items()}
