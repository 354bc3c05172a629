"""The echo record (DESIGN invariant 3) and leases (invariant 4, the single scheduler)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest

from shared.store import (
    SCHEDULER_LEASE_KEY,
    Store,
    normalize_registry,
    repository_lease_key,
)
from tests.store.helpers import FakeClock, RawQuery

DIGEST = "sha256:" + "1" * 64
OTHER_DIGEST = "sha256:" + "2" * 64

# Echo record ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://Registry.Example.com:443/", "registry.example.com"),
        ("http://registry.example.com:80", "registry.example.com"),
        ("https://registry.example.com:5000/v2/", "registry.example.com:5000"),
        ("registry.example.com:5000", "registry.example.com:5000"),
        ("REGISTRY.example.com", "registry.example.com"),
        ("http://[::1]:5000", "[::1]:5000"),
    ],
)
def test_registries_are_compared_by_normalized_host(value: str, expected: str) -> None:
    assert normalize_registry(value) == expected


@pytest.mark.parametrize("value", ["", "https://", "http://host:notaport"])
def test_a_registry_needs_a_host(value: str) -> None:
    with pytest.raises(ValueError):
        normalize_registry(value)


def test_a_write_crossdock_made_comes_back_as_an_echo(store: Store) -> None:
    # Given crossdock copied team/app:v1 from A into B,
    store.record_write("https://b.example.com", "team/app", "v1", DIGEST,
                       origin="https://a.example.com")

    # B's notification about it is an echo for the rule back to A (by URL or by host) ...
    assert store.is_echo("b.example.com", "team/app", "v1", DIGEST, origin="a.example.com")
    assert store.is_echo("https://B.example.com:443", "team/app", "v1", DIGEST,
                         origin="https://a.example.com/")
    # ... and for any rule when the origin is not asked about.
    assert store.is_echo("b.example.com", "team/app", "v1", DIGEST)


def test_a_chain_still_flows(store: Store) -> None:
    # A -> B was crossdock's write; the rule B -> C must still copy it on.
    store.record_write("b.example.com", "team/app", "v1", DIGEST, origin="a.example.com")

    assert not store.is_echo("b.example.com", "team/app", "v1", DIGEST, origin="c.example.com")


def test_other_pushes_are_not_echoes(store: Store) -> None:
    store.record_write("b.example.com", "team/app", "v1", DIGEST, origin="a.example.com")

    assert not store.is_echo("b.example.com", "team/app", "v2", DIGEST)  # a retag by a user
    assert not store.is_echo("b.example.com", "team/app", "v1", OTHER_DIGEST)  # a new push
    assert not store.is_echo("b.example.com", "team/web", "v1", DIGEST)
    assert not store.is_echo("a.example.com", "team/app", "v1", DIGEST)
    assert not store.is_echo("b.example.com:5000", "team/app", "v1", DIGEST)


def test_an_event_without_a_tag_matches_any_write_of_that_digest(store: Store) -> None:
    # Index children and referrers are pushed by digest; a tagged copy also PUTs by digest.
    store.record_write("b.example.com", "team/app", "v1", DIGEST, origin="a.example.com")
    store.record_write("b.example.com", "team/app", None, OTHER_DIGEST, origin="a.example.com")

    assert store.is_echo("b.example.com", "team/app", None, DIGEST)
    assert store.is_echo("b.example.com", "team/app", None, OTHER_DIGEST)
    assert not store.is_echo("b.example.com", "team/app", "v1", OTHER_DIGEST)


def test_recording_the_same_write_again_refreshes_it(
    store: Store, clock: FakeClock, raw_query: RawQuery
) -> None:
    store.record_write("b.example.com", "team/app", "v1", DIGEST, origin="a.example.com")
    store.record_write("b.example.com", "team/app", None, DIGEST, origin="a.example.com")
    clock.advance(3600)

    store.record_write("b.example.com", "team/app", "v1", DIGEST, origin="a.example.com")
    store.record_write("b.example.com", "team/app", None, DIGEST, origin="a.example.com")

    assert raw_query("SELECT count(*) FROM writes") == [(2,)]
    assert store.prune_writes(timedelta(minutes=30)) == 0  # both were refreshed just now


def test_old_writes_can_be_pruned(store: Store, clock: FakeClock) -> None:
    store.record_write("b.example.com", "team/app", "old", DIGEST, origin="a.example.com")
    clock.advance(8 * 86400)
    store.record_write("b.example.com", "team/app", "new", OTHER_DIGEST, origin="a.example.com")

    assert store.prune_writes(timedelta(days=7)) == 1

    assert not store.is_echo("b.example.com", "team/app", "old", DIGEST)
    assert store.is_echo("b.example.com", "team/app", "new", OTHER_DIGEST)
    assert store.prune_writes(clock.now + timedelta(seconds=1)) == 1  # a cut-off moment


# Leases ---------------------------------------------------------------------------------------


def test_lease_keys() -> None:
    assert repository_lease_key(3, "team/app") == "3/team/app"
    assert SCHEDULER_LEASE_KEY == "scheduler"


def test_a_lease_is_exclusive_across_processes(open_stores: Callable[[], Store]) -> None:
    # Two stores with their own engines on one database, as two consumer processes.
    first, second = open_stores(), open_stores()
    key = repository_lease_key(1, "team/app")

    assert first.try_acquire_lease(key, "consumer-1", ttl_seconds=60)
    assert not second.try_acquire_lease(key, "consumer-2", ttl_seconds=60)
    assert second.lease_holder(key) == "consumer-1"

    # Other repositories are not held up.
    assert second.try_acquire_lease(repository_lease_key(1, "team/web"), "consumer-2", 60)


def test_an_expired_lease_is_taken_over(
    open_stores: Callable[[], Store], clock: FakeClock
) -> None:
    # Given consumer 1 took the lease and died,
    first, second = open_stores(), open_stores()
    first.try_acquire_lease(SCHEDULER_LEASE_KEY, "scheduler-1", ttl_seconds=30)
    clock.advance(29)
    assert not second.try_acquire_lease(SCHEDULER_LEASE_KEY, "scheduler-2", ttl_seconds=30)

    # once its TTL has run out, another takes the lease over,
    clock.advance(1)
    assert first.lease_holder(SCHEDULER_LEASE_KEY) is None
    assert second.try_acquire_lease(SCHEDULER_LEASE_KEY, "scheduler-2", ttl_seconds=30)

    # and the first, should it wake up, can neither renew nor release it.
    assert not first.renew_lease(SCHEDULER_LEASE_KEY, "scheduler-1", ttl_seconds=30)
    assert not first.release_lease(SCHEDULER_LEASE_KEY, "scheduler-1")
    assert second.lease_holder(SCHEDULER_LEASE_KEY) == "scheduler-2"


def test_the_holder_renews_and_re_acquires_its_lease(store: Store, clock: FakeClock) -> None:
    assert store.try_acquire_lease("k", "me", ttl_seconds=10)
    clock.advance(8)
    assert store.renew_lease("k", "me", ttl_seconds=10)
    clock.advance(8)  # 16 s after taking it, 8 s after renewing: still mine
    assert store.lease_holder("k") == "me"
    assert store.try_acquire_lease("k", "me", ttl_seconds=10)  # idempotent, extends
    clock.advance(9)
    assert not store.try_acquire_lease("k", "you", ttl_seconds=10)


def test_a_released_lease_is_free_at_once(open_stores: Callable[[], Store]) -> None:
    first, second = open_stores(), open_stores()
    first.try_acquire_lease("k", "me", ttl_seconds=600)

    assert not second.release_lease("k", "you")  # only the holder can release
    assert first.release_lease("k", "me")

    assert first.lease_holder("k") is None
    assert second.try_acquire_lease("k", "you", ttl_seconds=600)
    assert not first.renew_lease("k", "me", ttl_seconds=600)


def test_exactly_one_of_many_racing_processes_gets_the_lease(
    open_stores: Callable[[], Store],
) -> None:
    stores = [open_stores() for _ in range(2)]
    start = threading.Barrier(8)
    results: dict[str, bool] = {}
    errors: list[BaseException] = []

    def contend(n: int) -> None:
        try:
            start.wait()
            results[f"holder-{n}"] = stores[n % 2].try_acquire_lease("race", f"holder-{n}", 60)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=contend, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    winners = [holder for holder, won in results.items() if won]
    assert len(winners) == 1 and len(results) == 8
    assert stores[0].lease_holder("race") == winners[0]


def test_a_lease_needs_a_positive_ttl(store: Store) -> None:
    with pytest.raises(ValueError, match="positive TTL"):
        store.try_acquire_lease("k", "me", ttl_seconds=0)


def test_deletes_and_puts_are_told_apart(store: Store) -> None:
    # Given crossdock put team/app:v1 into B, and later deleted another digest and a tag
    store.record_write("b.example.com", "team/app", "v1", DIGEST, origin="a.example.com")
    store.record_write("b.example.com", "team/app", None, OTHER_DIGEST, origin="a.example.com",
                       action="delete")
    store.record_write("b.example.com", "team/app", "old", None, origin="a.example.com",
                       action="delete")

    # A user's delete of what crossdock put is not an echo; crossdock's own deletes are.
    assert not store.is_echo("b.example.com", "team/app", None, DIGEST, action="delete")
    assert not store.is_echo("b.example.com", "team/app", "v1", None, action="delete")
    assert store.is_echo("b.example.com", "team/app", None, OTHER_DIGEST, action="delete")
    assert store.is_echo("b.example.com", "team/app", "old", None, action="delete")
    assert not store.is_echo("b.example.com", "team/app", None, OTHER_DIGEST)  # not a put


def test_echoes_count_only_within_the_window(store: Store, clock: FakeClock) -> None:
    store.record_write("b.example.com", "team/app", "v1", DIGEST, origin="a.example.com")
    clock.advance(30 * 60)

    assert store.is_echo("b.example.com", "team/app", "v1", DIGEST, within=timedelta(hours=1))
    clock.advance(31 * 60)
    # An hour later, a user putting that image back under v1 is heard.
    assert not store.is_echo("b.example.com", "team/app", "v1", DIGEST,
                             within=timedelta(hours=1))
