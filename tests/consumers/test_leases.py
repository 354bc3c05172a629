"""`LeaseKeeper`: a run knows when it no longer surely holds its lease (DESIGN invariant 4).

The keeper is driven by hand here (its renewer thread is told to stop at once,
and `renew()` is called directly) over a real SQLite store, with a clock the
test moves.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consumers.leases import LeaseKeeper, new_holder
from shared.store import Store, StoreUnavailableError, generate_secret_key, open_store

KEY = "1/lib/app"
TTL = 60.0


class Clock:
    """Monotonic seconds the test sets."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FlakyStore:
    """A store whose lease renewals fail (store unreachable) while `down`."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.down = False

    def renew_lease(self, key: str, holder: str, ttl_seconds: float) -> bool:
        if self.down:
            raise StoreUnavailableError("store unreachable: connection refused")
        return self._store.renew_lease(key, holder, ttl_seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'leases.db'}", generate_secret_key())
    yield opened
    opened.close()


def keeper_for(store: Any, clock: Clock) -> LeaseKeeper:
    stopped = threading.Event()
    stopped.set()  # no renewer thread: the test calls renew()
    return LeaseKeeper(store, stopped, ttl=TTL, clock=clock)


def test_each_run_of_a_job_holds_its_leases_under_a_fresh_name() -> None:
    first, second = new_holder(7), new_holder(7)

    assert re.fullmatch(r"run-7-[0-9a-f]{8}", first)
    assert first != second


def test_a_refused_renewal_marks_the_run_lost(store: Store) -> None:
    clock = Clock()
    keeper = keeper_for(store, clock)
    ours = new_holder(1)
    assert keeper.acquire(KEY, ours)
    clock.now = 20.0
    keeper.renew()
    assert keeper.lost(ours) is None

    # Given the lease expired and another run took it (the store's own clock)
    store.release_lease(KEY, ours)
    theirs = new_holder(2)
    assert store.try_acquire_lease(KEY, theirs, TTL)
    clock.now = 40.0
    # When the next renewal is refused
    keeper.renew()

    # Then the run is lost, and stays lost
    reason = keeper.lost(ours)
    assert reason is not None and "taken by another run" in reason
    clock.now = 45.0
    keeper.renew()
    assert keeper.lost(ours) == reason
    # and releasing it leaves the other run's lease alone
    keeper.release(KEY, ours)
    assert store.lease_holder(KEY) == theirs
    assert keeper.lost(ours) is None


def test_the_store_unreachable_for_a_whole_ttl_marks_the_run_lost(store: Store) -> None:
    clock = Clock()
    flaky = FlakyStore(store)
    keeper = keeper_for(flaky, clock)
    ours = new_holder(1)
    assert keeper.acquire(KEY, ours)

    # A short outage: renewals fail, then one gets through in time
    flaky.down = True
    clock.now = 20.0
    keeper.renew()
    clock.now = 40.0
    keeper.renew()
    assert keeper.lost(ours) is None
    flaky.down = False
    clock.now = 59.0
    keeper.renew()  # renewed at 59: the lease surely holds until 119
    flaky.down = True
    clock.now = 118.9
    keeper.renew()
    assert keeper.lost(ours) is None

    # A whole TTL without a renewal: the lease may have expired and been taken
    clock.now = 119.0
    reason = keeper.lost(ours)
    assert reason is not None and "store is unreachable" in reason
    flaky.down = False
    clock.now = 120.0
    keeper.renew()  # a later renewal does not make the run safe again
    assert keeper.lost(ours) == reason


def test_a_lease_not_renewed_for_a_ttl_is_lost_even_when_the_check_comes_first(
    store: Store,
) -> None:
    clock = Clock()
    keeper = keeper_for(store, clock)
    ours = new_holder(1)
    assert keeper.acquire(KEY, ours)

    clock.now = 61.0  # the renewer thread stalled (a suspended process, a slow store)

    assert keeper.lost(ours) is not None
    assert keeper.lost(new_holder(1)) is None  # another run of the job holds nothing here
