"""Copies into a destination repository that had no tags, or nothing at all, when its
one writer began (`FreshRepository`): no HEAD asks about what can't be there, and
what an earlier attempt left there does no harm."""

from __future__ import annotations

import pytest

from shared.copy.blobs import UNASKED_UPLOAD_MAX
from shared.copy.engine import CopyEngine
from shared.copy.fresh import FreshRepository, Presence
from shared.copy.project import destination_repositories, sync_project
from shared.registry import RegistryClient, RegistryConfig
from tests.clients import client_for
from tests.support.fault_proxy import FaultProxy
from tests.support.harbor import HarborFake
from tests.support.images import cosign_tag, list_state, push_image, push_index, push_referrer
from tests.support.registry_log import Served, served
from tests.support.registry_server import RegistryServer


def _heads(requests: list[Served]) -> list[str]:
    return [r.path for r in requests if r.method == "HEAD"]


def _fresh() -> FreshRepository:
    record = FreshRepository()
    assert record.settle(lambda: Presence.UNTAGGED)  # the destination has no tags there
    return record


def _uploads(requests: list[Served]) -> list[str]:
    return [r.path for r in requests if r.method == "PUT" and "/blobs/uploads/" in r.path]


@pytest.mark.parametrize(("presence", "fresh", "empty"), [
    (Presence.EMPTY, True, True), (Presence.UNTAGGED, True, False),
    (Presence.PRESENT, False, False), (Presence.UNKNOWN, False, False),
])
def test_a_repository_is_fresh_by_the_first_answer_its_writer_got(
    presence: Presence, fresh: bool, empty: bool
) -> None:
    """Only no tags (or nothing at all) makes it fresh; only nothing at all empty."""
    answers = iter([presence, Presence.UNKNOWN if fresh else Presence.EMPTY])
    record = FreshRepository()

    assert record.settle(lambda: next(answers)) is fresh
    assert record.settle(lambda: next(answers)) is fresh  # not asked again
    assert record.empty is empty
    assert next(answers) is not presence


@pytest.mark.parametrize(("exists", "presence"), [
    (True, Presence.PRESENT), (False, Presence.UNTAGGED), (None, Presence.UNKNOWN)])
def test_a_one_tag_listing_never_tells_an_empty_repository(
    exists: bool | None, presence: Presence
) -> None:
    """No tags may still mean blobs an earlier attempt left: untagged, not empty."""
    assert Presence.from_exists(exists) is presence


def test_repository_exists_tells_a_new_repository_from_one_with_tags(
    registry: RegistryServer,
) -> None:
    client = client_for(registry)
    assert client.repository_exists("lib/app") is False
    push_image(registry.url, "lib/app", "v1")
    assert client.repository_exists("lib/app") is True


def test_repository_exists_says_nothing_on_an_answer_it_cannot_read(
    registry: RegistryServer,
) -> None:
    with FaultProxy(registry.url) as proxy:
        proxy.fail_reads(2)  # the transport resends a read answered 500 once
        assert client_for(registry, url=proxy.url).repository_exists("lib/app") is None


def test_a_copy_into_a_fresh_repository_asks_nothing_at_the_destination(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer
) -> None:
    base = (b"B" * 300_000,)
    push_image(registry.url, "lib/one", "v1", base_layers=base, layers=(1000,))
    two = push_image(registry.url, "lib/two", "v1", base_layers=base, layers=(2000, 3000))
    src, dst = client_for(registry), client_for(registry2)
    engine.copy(src, "lib/one", "v1", dst, "lib/one")  # the base is now known there
    before = len(served(registry2))

    result = engine.copy(src, "lib/two", "v1", dst, "lib/two", fresh=_fresh())

    requests = served(registry2)[before:]
    assert _heads(requests) == []
    assert result.blobs_mounted == 1 and result.blobs_uploaded == 3  # 2 layers, config
    assert list_state(registry2.url, "lib/two") == {"v1": two.digest}


def test_a_large_blob_is_still_asked_about_in_a_fresh_repository(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer
) -> None:
    """A large blob an earlier attempt left is found, not sent again."""
    image = push_image(registry.url, "lib/app", "v1", layers=(UNASKED_UPLOAD_MAX + 1, 500))
    src, dst = client_for(registry), client_for(registry2)
    engine.copy(src, "lib/app", image.digest, dst, "lib/app")  # by digest: no tag yet
    assert dst.repository_exists("lib/app") is False
    before = len(served(registry2))

    with CopyEngine(engine.options) as next_attempt:  # knows nothing of the first
        result = next_attempt.copy(src, "lib/app", "v1", dst, "lib/app", fresh=_fresh())

    large = next(d for d, size in image.blobs if size == UNASKED_UPLOAD_MAX + 1)
    assert _heads(served(registry2)[before:]) == [f"/v2/lib/app/blobs/{large}"]
    assert result.blobs_present == 1 and result.bytes_uploaded < UNASKED_UPLOAD_MAX
    assert list_state(registry2.url, "lib/app") == {"v1": image.digest}


def test_an_index_copied_into_a_fresh_repository_brings_every_child(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer
) -> None:
    index = push_index(registry.url, "lib/multi", "v1")
    src, dst = client_for(registry), client_for(registry2)

    engine.copy(src, "lib/multi", "v1", dst, "lib/multi", fresh=_fresh())

    assert list_state(registry2.url, "lib/multi") == {"v1": index.digest}
    for child in dst.get_manifest("lib/multi", index.digest).children:
        assert dst.head_manifest("lib/multi", child.digest) is not None


def test_a_signature_copied_with_its_image_is_put_into_the_record_too(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer
) -> None:
    image = push_image(registry.url, "lib/app", "v1")
    signature = push_referrer(registry.url, "lib/app", image)
    src, dst = client_for(registry), client_for(registry2)
    record = _fresh()

    result = engine.copy(src, "lib/app", "v1", dst, "lib/app", fresh=record)

    assert [r.status for r in result.referrers] == ["copied"]
    assert _heads(served(registry2)) == []
    assert record.holds_manifest(cosign_tag(image.digest))
    assert list_state(registry2.url, "lib/app") == {
        "v1": image.digest, cosign_tag(image.digest): signature.digest}


def test_copies_sharing_a_fresh_repository_know_what_the_others_put(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer
) -> None:
    base = (b"B" * 300_000,)
    one = push_image(registry.url, "lib/app", "v1", base_layers=base, layers=(1000,))
    two = push_image(registry.url, "lib/app", "v2", base_layers=base, layers=(2000,))
    src, dst = client_for(registry), client_for(registry2)
    record = _fresh()
    engine.copy(src, "lib/app", "v1", dst, "lib/app", fresh=record)
    before = len(served(registry2))

    with CopyEngine(engine.options) as other:  # the record, not the engine, knows
        second = other.copy(src, "lib/app", "v2", dst, "lib/app", fresh=record)
        again = other.copy(src, "lib/app", "v1", dst, "lib/app", fresh=record)

    # The base is known there (not mounted again); a tag it put is asked about again
    assert (second.blobs_present, second.blobs_mounted, second.blobs_uploaded) == (1, 0, 2)
    assert again.status == "skipped"
    assert _heads(served(registry2)[before:]) == ["/v2/lib/app/manifests/v1"]
    assert list_state(registry2.url, "lib/app") == {"v1": one.digest, "v2": two.digest}


@pytest.mark.parametrize("tags", [("v1",), ("v1", "v2")])
def test_a_project_sync_asks_nothing_in_repositories_new_at_the_destination(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer,
    tags: tuple[str, ...],
) -> None:
    """The destination's catalog, read once, tells them: large blobs aren't asked
    about either, since nothing at all is there."""
    push_image(registry.url, "lib/one", "v1", layers=(UNASKED_UPLOAD_MAX + 1,), seed="one")
    for tag in tags:
        push_image(registry.url, "lib/app", tag, layers=(UNASKED_UPLOAD_MAX + 1, 1000), seed=tag)
    src, dst = client_for(registry), client_for(registry2)

    summary = sync_project(engine, src, "lib", dst)
    first = served(registry2)
    with CopyEngine(engine.options) as later:
        again = sync_project(later, src, "lib", dst)

    assert (summary.copied, again.skipped) == (len(tags) + 1, len(tags) + 1)
    assert [r.path for r in first if r.method == "GET" and r.path != "/v2/"] == ["/v2/_catalog"]
    assert _heads(first) == []
    # The repositories exist now: the next sync asks as any copy does
    assert sorted(_heads(served(registry2)[len(first):])) == sorted(
        [f"/v2/lib/app/manifests/{tag}" for tag in tags] + ["/v2/lib/one/manifests/v1"])


def test_a_project_sync_asks_about_blobs_in_a_repository_the_catalog_lists(
    engine: CopyEngine, registry: RegistryServer, registry2: RegistryServer
) -> None:
    """A repository an earlier attempt left untagged is listed: its large blob is
    found, not sent again."""
    image = push_image(registry.url, "lib/app", "v1", layers=(UNASKED_UPLOAD_MAX + 1, 500))
    src, dst = client_for(registry), client_for(registry2)
    engine.copy(src, "lib/app", image.digest, dst, "lib/app")  # by digest: no tag yet
    assert dst.repository_exists("lib/app") is False
    before = len(served(registry2))

    with CopyEngine(engine.options) as next_attempt:
        summary = sync_project(next_attempt, src, "lib", dst)

    large = next(d for d, size in image.blobs if size == UNASKED_UPLOAD_MAX + 1)
    assert summary.copied == 1
    assert f"/v2/lib/app/blobs/{large}" in _heads(served(registry2)[before:])
    assert _uploads(served(registry2)[before:]) == []  # everything was there
    assert list_state(registry2.url, "lib/app") == {"v1": image.digest}


def test_the_destination_catalog_keeps_the_namespace_and_has_a_size_limit(
    registry: RegistryServer,
) -> None:
    for repository in ("lib", "lib/app", "lib/app/sub", "library/app", "other/app"):
        push_image(registry.url, repository, "v1", layers=(100,), seed=repository)
    client = client_for(registry)

    assert destination_repositories(client, "lib") == {"lib", "lib/app", "lib/app/sub"}
    assert destination_repositories(client, "none") == frozenset()
    assert destination_repositories(client, "lib", names_max=5) is not None
    assert destination_repositories(client, "lib", names_max=4) is None  # asks each


def test_without_the_destination_catalog_a_project_sync_asks_each_repository(
    engine: CopyEngine, registry: RegistryServer, harbor: HarborFake
) -> None:
    """Harbor lists its catalog to admins only: a project member's sync falls back
    to a one-tag listing per repository, and a large blob is asked about."""
    one = push_image(registry.url, "lib/one", "v1", layers=(UNASKED_UPLOAD_MAX + 1,))
    two = push_image(registry.url, "lib/two", "v1", layers=(1000,))
    harbor.create_project("lib")
    harbor.add_user("dev", "Dev12345")
    harbor.add_member("lib", "dev", "developer")
    dst = RegistryClient(RegistryConfig(url=harbor.url, username="dev", password="Dev12345"))
    assert destination_repositories(dst, "lib") is None

    summary = sync_project(engine, client_for(registry), "lib", dst)

    requests = served(harbor.registry)
    large = next(d for d, size in one.blobs if size == UNASKED_UPLOAD_MAX + 1)
    assert summary.copied == 2
    assert sorted(r.path for r in requests if r.path.endswith("/tags/list")) == [
        "/v2/lib/one/tags/list", "/v2/lib/two/tags/list"]
    assert _heads(requests) == [f"/v2/lib/one/blobs/{large}"]
    for repository, image in (("lib/one", one), ("lib/two", two)):
        head = dst.head_manifest(repository, "v1")
        assert head is not None and head.digest == image.digest
