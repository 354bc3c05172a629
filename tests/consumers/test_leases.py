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

from consumers.leases import (
    LINGER_SECONDS,
    POLL_FIRST_SECONDS,
    POLL_SECONDS,
    LeaseKeeper,
    Share,
    new_holder,
)
from shared.store import Store, StoreUnavailableError, generate_secret_key, open_store
from tests.consumers.conftest import wait_until

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


# One execution's runs share the lease ----------------------------------------------------


class Attempt:
    """`keeper.acquire` in a thread: `waiting` once it notes who holds the lease,
    `done` once it returned (`result`)."""

    def __init__(self, keeper: LeaseKeeper, holder: str, share: Share | None) -> None:
        self.holder = holder
        self.waiting = threading.Event()
        self.done = threading.Event()
        self.result: bool | None = None
        self.held_by: str | None = None

        def note(other: str | None) -> None:
            self.held_by = other
            self.waiting.set()

        def run() -> None:
            self.result = keeper.acquire(KEY, holder, note, share)
            self.done.set()

        threading.Thread(target=run, daemon=True).start()

    def acquired(self) -> bool:
        assert self.done.wait(10), f"{self.holder} is still waiting"
        return bool(self.result)

    def waits(self) -> bool:
        assert self.waiting.wait(10), f"{self.holder} neither waited nor said so"
        return not self.done.is_set()


@pytest.fixture
def running() -> Iterator[threading.Event]:
    """A consumer's `stopping` event, not set: runs may wait (its renewer ticks every
    20 s of real time, later than any test here ends). Set at the end."""
    stopping = threading.Event()
    yield stopping
    stopping.set()


def waiting_keeper(store: Any, stopping: threading.Event, clock: Clock) -> LeaseKeeper:
    return LeaseKeeper(store, stopping, ttl=TTL, clock=clock)


class CountingStore:
    """A store that counts the lease acquisitions asked of it."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.tries = 0

    def try_acquire_lease(self, key: str, holder: str, ttl_seconds: float) -> bool:
        self.tries += 1
        return self._store.try_acquire_lease(key, holder, ttl_seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def let_go(store: Store) -> None:
    """Wait until the lease is free again, within a few lingers."""
    wait_until(lambda: store.lease_holder(KEY) is None, timeout=20 * LINGER_SECONDS,
               what="the lease to be let go")


def test_runs_of_one_execution_on_distinct_tags_share_the_lease(
    store: Store, running: threading.Event
) -> None:
    counting = CountingStore(store)
    keeper = waiting_keeper(counting, running, Clock())
    first, second = new_holder(1), new_holder(2)

    assert keeper.acquire(KEY, first, share=Share(7, "v1"))
    assert Attempt(keeper, second, Share(7, "v2")).acquired()

    # One lease in the store, under the run that took it, kept until the last run is done
    assert counting.tries == 1
    assert store.lease_holder(KEY) == first
    keeper.release(KEY, first)
    assert store.lease_holder(KEY) == first
    keeper.release(KEY, second)
    assert store.lease_holder(KEY) == first  # kept a moment for the execution's next run
    let_go(store)


@pytest.mark.parametrize("other", [
    Share(7, "v1"),  # the same tag: a redelivered message's new run
    Share(8, "v2"),  # another execution
    None,  # an event's job, a delete, a copy by digest, a pair's job
])
def test_any_other_run_waits_for_the_shared_lease_to_be_let_go(
    store: Store, running: threading.Event, other: Share | None
) -> None:
    counting = CountingStore(store)
    keeper = waiting_keeper(counting, running, Clock())
    first, second = new_holder(1), new_holder(2)
    assert keeper.acquire(KEY, first, share=Share(7, "v1"))
    assert keeper.acquire(KEY, second, share=Share(7, "v3"))

    waiting = Attempt(keeper, new_holder(3), other)

    assert waiting.waits()
    assert waiting.held_by == first
    keeper.release(KEY, first)
    assert not waiting.done.is_set()  # the second run still holds it
    keeper.release(KEY, second)
    assert waiting.acquired()
    assert store.lease_holder(KEY) == waiting.holder
    # It waited in the process: the store was asked once by each run that took the lease
    assert counting.tries == 2


def test_a_waiting_run_keeps_new_runs_from_joining(
    store: Store, running: threading.Event
) -> None:
    keeper = waiting_keeper(store, running, Clock())
    first = new_holder(1)
    assert keeper.acquire(KEY, first, share=Share(7, "v1"))
    alone = Attempt(keeper, new_holder(2), None)
    assert alone.waits()

    joiner = Attempt(keeper, new_holder(3), Share(7, "v2"))

    assert joiner.waits()  # the lease drains instead of growing
    keeper.release(KEY, first)
    assert alone.acquired()
    assert not joiner.done.is_set()
    keeper.release(KEY, alone.holder)
    assert joiner.acquired()


def test_the_runs_under_a_lease_share_one_record_of_its_repository(
    store: Store, running: threading.Event
) -> None:
    keeper = waiting_keeper(store, running, Clock())
    first, second = new_holder(1), new_holder(2)
    assert keeper.acquire(KEY, first, share=Share(7, "v1"))
    assert keeper.acquire(KEY, second, share=Share(7, "v2"))

    record = keeper.fresh(KEY, first)

    assert record is not None and keeper.fresh(KEY, second) is record
    assert keeper.fresh(KEY, new_holder(3)) is None  # not a run under it
    keeper.release(KEY, first)
    keeper.release(KEY, second)
    third = new_holder(4)
    assert keeper.acquire(KEY, third, share=Share(7, "v3"))  # within the linger
    assert keeper.fresh(KEY, third) is record
    keeper.release(KEY, third)
    let_go(store)
    fourth = new_holder(5)
    assert keeper.acquire(KEY, fourth, share=Share(7, "v4"))
    assert keeper.fresh(KEY, fourth) not in (None, record)  # the lease taken anew


def test_a_shared_lease_is_kept_a_moment_for_its_executions_next_run(
    store: Store, running: threading.Event
) -> None:
    counting = CountingStore(store)
    keeper = waiting_keeper(counting, running, Clock())
    first = new_holder(1)
    assert keeper.acquire(KEY, first, share=Share(7, "v1"))
    keeper.release(KEY, first)

    # Its execution's next run joins it without asking the store
    second = new_holder(2)
    assert keeper.acquire(KEY, second, share=Share(7, "v2"))
    assert counting.tries == 1
    keeper.release(KEY, second)
    # Any other run waits for the linger to end, then takes it from the store
    other = Attempt(keeper, new_holder(3), None)
    assert other.acquired()
    assert counting.tries == 2 and store.lease_holder(KEY) == other.holder
    keeper.release(KEY, other.holder)
    assert store.lease_holder(KEY) is None  # alone: let go at once


def test_a_stopping_consumer_lets_go_of_a_lingering_lease_at_once(
    store: Store, running: threading.Event
) -> None:
    keeper = waiting_keeper(store, running, Clock())
    first = new_holder(1)
    assert keeper.acquire(KEY, first, share=Share(7, "v1"))
    keeper.release(KEY, first)
    assert store.lease_holder(KEY) == first

    keeper.close()

    assert store.lease_holder(KEY) is None


def test_a_shared_lease_lost_is_lost_for_every_run_under_it(
    store: Store, running: threading.Event
) -> None:
    clock = Clock()
    keeper = waiting_keeper(store, running, clock)
    first, second = new_holder(1), new_holder(2)
    assert keeper.acquire(KEY, first, share=Share(7, "v1"))
    assert keeper.acquire(KEY, second, share=Share(7, "v2"))

    # Given the lease expired and another process's run took it
    store.release_lease(KEY, first)
    assert store.try_acquire_lease(KEY, new_holder(9), TTL)
    clock.now = 20.0
    keeper.renew()

    reason = keeper.lost(first)
    assert reason is not None and "taken by another run" in reason
    assert keeper.lost(second) == reason
    # and no run joins a lost lease
    late = Attempt(keeper, new_holder(3), Share(7, "v3"))
    assert late.waits()


class OtherProcessLetsGo:
    """A consumer's `stopping` that never stops and records how long the run taking
    a lease waits between asks; the other process's run lets the lease go at the
    `after`-th wait. (The renewer thread is told to stop at once.)"""

    def __init__(self, store: Store, other: str, after: int) -> None:
        self._store, self._other, self._after = store, other, after
        self.waits: list[float] = []

    def is_set(self) -> bool:
        return False

    def wait(self, timeout: float) -> bool:
        if threading.current_thread().name == "lease-renewer":
            return True
        self.waits.append(timeout)
        if len(self.waits) == self._after:
            self._store.release_lease(KEY, self._other)
        return False


def test_a_lease_another_process_holds_is_asked_for_again_soon_and_often(
    store: Store,
) -> None:
    """Its deliveries wait meanwhile: the store is asked again within 50 ms, then at
    least every `POLL_SECONDS` however long the other process holds it."""
    other = new_holder(9)
    assert store.try_acquire_lease(KEY, other, TTL)
    stopping = OtherProcessLetsGo(store, other, after=20)
    keeper = LeaseKeeper(store, stopping, ttl=TTL, clock=Clock())  # type: ignore[arg-type]
    told: list[str | None] = []

    assert keeper.acquire(KEY, new_holder(1), told.append)

    assert told == [other]
    assert len(stopping.waits) == 20
    assert stopping.waits[0] == POLL_FIRST_SECONDS
    assert max(stopping.waits) == POLL_SECONDS <= 0.25
