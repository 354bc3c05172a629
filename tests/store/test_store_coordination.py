"""Leases (DESIGN invariant 4, the single scheduler) and registry names."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from shared.store import (
    SCHEDULER_LEASE_KEY,
    QueueDelays,
    Store,
    normalize_registry,
    repository_lease_key,
)
from tests.store.helpers import FakeClock

# Registry names ------------------------------------------------------------------------------


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


# Queue delays ----------------------------------------------------------------------------


def test_the_delays_of_every_process_are_remembered_once(store: Store) -> None:
    before = store.queue_delays()  # the defaults (test_migrations), unless emptied

    store.remember_queue_delays([1, 2], [5])
    store.remember_queue_delays([2, 1, 2], [5])
    store.remember_queue_delays([30], [])

    assert store.queue_delays() == QueueDelays(
        retry=tuple(sorted({*before.retry, 1, 2, 30})), defer=tuple(sorted({*before.defer, 5})))
