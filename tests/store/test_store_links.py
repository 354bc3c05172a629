"""Registry links: a source and an endpoint that are one registry."""

from __future__ import annotations

import pytest

from shared.store import ConflictError, RecordNotFoundError, Store
from tests.store.helpers import FakeClock, registry


def test_a_link_is_created_read_listed_and_deleted(store: Store, clock: FakeClock) -> None:
    source_a, endpoint_a = registry(store, "a")
    source_b, endpoint_b = registry(store, "b")

    link_b = store.create_link(source_id=source_b.id, endpoint_id=endpoint_b.id,
                               harbor_account="robot$crossdock")
    link_a = store.create_link(source_id=source_a.id, endpoint_id=endpoint_a.id)

    assert (link_b.source_id, link_b.endpoint_id, link_b.harbor_account) == (
        source_b.id, endpoint_b.id, "robot$crossdock")
    assert link_a.harbor_account is None and link_a.created_at == clock.now
    assert store.get_link(link_a.id) == link_a
    assert store.list_links() == [link_b, link_a]
    assert store.link_for_source(source_a.id) == link_a
    assert store.link_for_endpoint(endpoint_b.id) == link_b

    store.delete_link(link_a.id)
    assert store.link_for_source(source_a.id) is None
    assert store.link_for_endpoint(endpoint_a.id) is None
    assert store.list_links() == [link_b]
    with pytest.raises(RecordNotFoundError):
        store.get_link(link_a.id)
    with pytest.raises(RecordNotFoundError):
        store.delete_link(link_a.id)


def test_a_source_or_an_endpoint_is_linked_once(store: Store) -> None:
    source_a, endpoint_a = registry(store, "a")
    source_b, endpoint_b = registry(store, "b")
    store.create_link(source_id=source_a.id, endpoint_id=endpoint_a.id)

    with pytest.raises(ConflictError, match=f"source {source_a.id} is already linked"):
        store.create_link(source_id=source_a.id, endpoint_id=endpoint_b.id)
    with pytest.raises(ConflictError, match=f"endpoint {endpoint_a.id} is already linked"):
        store.create_link(source_id=source_b.id, endpoint_id=endpoint_a.id)
    assert len(store.list_links()) == 1


def test_a_link_needs_a_known_source_and_endpoint(store: Store) -> None:
    source, endpoint = registry(store, "a")

    with pytest.raises(RecordNotFoundError, match="source 999"):
        store.create_link(source_id=999, endpoint_id=endpoint.id)
    with pytest.raises(RecordNotFoundError, match="endpoint 999"):
        store.create_link(source_id=source.id, endpoint_id=999)
    assert store.list_links() == []


def test_the_harbor_account_of_a_link_is_updated(store: Store, clock: FakeClock) -> None:
    source, endpoint = registry(store, "a")
    link = store.create_link(source_id=source.id, endpoint_id=endpoint.id)
    clock.advance(60)

    assert store.update_link(link.id) == link  # nothing given, nothing changes
    updated = store.update_link(link.id, harbor_account="robot$x")
    assert updated.harbor_account == "robot$x" and updated.updated_at == clock.now
    assert store.update_link(link.id, harbor_account=None).harbor_account is None
    with pytest.raises(RecordNotFoundError):
        store.update_link(999, harbor_account="robot$x")


def test_deleting_a_source_deletes_its_link(store: Store) -> None:
    source, endpoint = registry(store, "a")
    store.create_link(source_id=source.id, endpoint_id=endpoint.id)

    store.delete_source(source.id)

    assert store.list_links() == []
    assert store.link_for_endpoint(endpoint.id) is None
