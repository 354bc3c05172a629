"""Copying a whole project: every repository under ``project/``, every tag."""

from __future__ import annotations

import threading

import pytest

from shared.copy.engine import CopyEngine
from shared.copy.project import map_repository, sync_project
from shared.errors import RegistryUnavailableError
from shared.registry import Manifest, RegistryClient, RegistryConfig
from tests.clients import client_for
from tests.support.images import cosign_tag, list_state, push_image, push_index, push_referrer
from tests.support.registry_log import served
from tests.support.registry_server import RegistryServer, corrupt_blob


def test_map_repository_swaps_the_project_for_the_namespace() -> None:
    assert map_repository("lib/app", "lib", "lib") == "lib/app"
    assert map_repository("lib/team/web", "lib", "mirror/lib") == "mirror/lib/team/web"
    assert map_repository("lib", "lib", "copy") == "copy"


def test_sync_copies_every_tag_of_every_repository_in_the_project(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer
) -> None:
    expected = {
        "lib/app": {"v1": push_image(registry.url, "lib/app", "v1").digest,
                    "v2": push_image(registry.url, "lib/app", "v2").digest},
        "lib/team/web": {"latest": push_image(registry.url, "lib/team/web", "latest").digest},
        "lib/multi": {"v1": push_index(registry.url, "lib/multi", "v1").digest},
    }
    push_image(registry.url, "other/app", "v1")  # another project: left alone
    push_image(registry.url, "library/app", "v1")  # shares a prefix, not the project

    summary = sync_project(engine, client_for(registry), "lib", client_for(registry2))

    assert (summary.copied, summary.skipped, summary.failed) == (4, 0, 0)
    for repository, tags in expected.items():
        assert list_state(registry2.url, repository) == tags
    assert list_state(registry2.url, "other/app") == {}
    assert list_state(registry2.url, "library/app") == {}


def test_second_sync_skips_everything(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer
) -> None:
    push_image(registry.url, "lib/app", "v1")
    push_image(registry.url, "lib/app", "v2")
    src, dst = client_for(registry), client_for(registry2)
    sync_project(engine, src, "lib", dst)

    again = sync_project(engine, src, "lib", dst)

    assert (again.copied, again.skipped, again.bytes_uploaded) == (0, 2, 0)


def test_sync_into_another_namespace(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer
) -> None:
    image = push_image(registry.url, "lib/app", "v1")

    sync_project(engine, client_for(registry), "lib", client_for(registry2), "backup/lib")

    assert list_state(registry2.url, "backup/lib/app") == {"v1": image.digest}


def test_one_broken_image_does_not_stop_the_others(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer
) -> None:

    good = push_image(registry.url, "lib/good", "v1")
    bad = push_image(registry.url, "lib/bad", "v1", layers=(10_000,))
    corrupt_blob(registry.storage_dir, bad.blobs[-1][0])

    summary = sync_project(engine, client_for(registry), "lib", client_for(registry2))

    assert (summary.copied, summary.failed) == (1, 1)
    assert summary.failures[0].source_repository == "lib/bad"
    assert "hash" in (summary.failures[0].error or "")
    assert list_state(registry2.url, "lib/good") == {"v1": good.digest}
    assert list_state(registry2.url, "lib/bad") == {}


def test_sync_looks_for_referrer_tags_in_its_listing_not_with_a_head_each(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer
) -> None:
    # Given a project with a signed image and an unsigned one (Distribution 2.8:
    # no referrers API, so referrers live under `sha256-<hex>` tags)
    image = push_image(registry.url, "lib/app", "v1")
    signature = push_referrer(registry.url, "lib/app", image)
    other = push_image(registry.url, "lib/web", "v1")

    # When the project is synced
    summary = sync_project(engine, client_for(registry), "lib", client_for(registry2))

    # Then the signature came along, and no referrer tag was looked up by a HEAD
    assert summary.failed == 0
    assert list_state(registry2.url, "lib/app") == {
        "v1": image.digest, cosign_tag(image.digest): signature.digest}
    assert list_state(registry2.url, "lib/web") == {"v1": other.digest}
    heads = [r.path for r in served(registry)
             if r.method == "HEAD" and "/manifests/sha256-" in r.path]
    assert heads == []


class ListsUntilCopying(RegistryClient):
    """A source whose listing of repository `last` waits until an image is copying."""

    def __init__(self, config: RegistryConfig, last: str) -> None:
        super().__init__(config)
        self.last = last
        self.copying = threading.Event()
        self.waited_in_vain = False

    def get_manifest(self, repository: str, reference: str) -> Manifest:
        self.copying.set()
        return super().get_manifest(repository, reference)

    def tags(self, repository: str) -> list[str]:
        if repository == self.last and not self.copying.wait(30):
            self.waited_in_vain = True
        return super().tags(repository)


def test_images_start_copying_while_the_project_is_still_being_listed(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer
) -> None:
    # Given a project of two repositories, and a source that lists the second
    # only once an image of the first is being copied
    first = push_image(registry.url, "lib/a", "v1")
    second = push_image(registry.url, "lib/b", "v1")
    source = ListsUntilCopying(client_for(registry).config, last="lib/b")

    # When the project is synced
    summary = sync_project(engine, source, "lib", client_for(registry2))

    # Then the first image was under way before the listing ended, and both arrived
    assert not source.waited_in_vain
    assert (summary.copied, summary.failed) == (2, 0)
    assert list_state(registry2.url, "lib/a") == {"v1": first.digest}
    assert list_state(registry2.url, "lib/b") == {"v1": second.digest}


class FailsToList(RegistryClient):
    """A source whose listing of repository `broken` fails."""

    def __init__(self, config: RegistryConfig, broken: str) -> None:
        super().__init__(config)
        self.broken = broken

    def tags(self, repository: str) -> list[str]:
        if repository == self.broken:
            raise RegistryUnavailableError("GET tags: connection reset")
        return super().tags(repository)


def test_a_listing_that_fails_half_way_raises_once_the_copies_under_way_end(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer
) -> None:
    push_image(registry.url, "lib/a", "v1")
    push_image(registry.url, "lib/b", "v1")

    with pytest.raises(RegistryUnavailableError, match="connection reset"):
        sync_project(engine, FailsToList(client_for(registry).config, broken="lib/b"), "lib",
                     client_for(registry2))

    assert list_state(registry2.url, "lib/b") == {}
