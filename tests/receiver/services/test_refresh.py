"""`receiver.services.refresh.BackgroundCache`: a read never waits for a load beyond
what it asks, a stale value is served while it refreshes, a failure keeps the last
value. Loads are held and released by the test, so nothing depends on timing."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from receiver.services.refresh import BackgroundCache, Snapshot
from shared.errors import TransientError
from tests.receiver.conftest import wait_until


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Loader:
    """Loads ``"<key>#<n>"``, each load held until the test releases it."""

    def __init__(self) -> None:
        self.calls = 0
        self.gate = threading.Event()
        self.fail: Exception | None = None
        self.threads: list[str] = []

    def __call__(self, key: str) -> str:
        self.calls += 1
        self.threads.append(threading.current_thread().name)
        assert self.gate.wait(30), "the test never released the load"
        if self.fail is not None:
            raise self.fail
        return f"{key}#{self.calls}"


@pytest.fixture
def loader() -> Iterator[Loader]:
    made = Loader()
    yield made
    made.gate.set()  # no load thread outlives the test


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(loader: Loader, clock: Clock) -> BackgroundCache[str, str]:
    return BackgroundCache(loader, name="test", max_age=60, retry_after=5, clock=clock)


def settled(cache: BackgroundCache[str, str], key: str) -> Snapshot[str]:
    wait_until(lambda: not cache.get(key).refreshing, 10, "the load to end")
    return cache.get(key)


def test_a_read_does_not_wait_for_a_load_it_did_not_ask_to_wait_for(
    cache: BackgroundCache[str, str], loader: Loader
) -> None:
    first = cache.get("a", wait=0.01)  # the load is held: the read returns anyway

    assert first.loading and first.refreshing and first.value is None
    loader.gate.set()
    done = cache.get("a", wait=10)
    assert (done.value, done.error, done.loading) == ("a#1", None, False)
    assert loader.threads == ["crossdock-test-refresh"]  # not the reader's thread


def test_a_stale_value_is_served_while_it_refreshes(
    cache: BackgroundCache[str, str], loader: Loader, clock: Clock
) -> None:
    loader.gate.set()
    assert cache.get("a", wait=10).value == "a#1"
    clock.now += 59
    assert cache.get("a").value == "a#1" and loader.calls == 1  # still fresh

    loader.gate.clear()
    clock.now += 1
    stale = cache.get("a", wait=10)  # a value exists: no waiting at all
    assert (stale.value, stale.refreshing) == ("a#1", True)
    assert cache.get("a").refreshing and loader.calls == 2  # one load per key at a time
    loader.gate.set()
    assert settled(cache, "a").value == "a#2"


def test_a_failed_load_keeps_the_last_value_and_is_retried_later(
    cache: BackgroundCache[str, str], loader: Loader, clock: Clock
) -> None:
    loader.gate.set()
    cache.get("a", wait=10)
    loader.fail = TransientError("registry down")
    clock.now += 60
    cache.get("a")
    failed = settled(cache, "a")
    assert (failed.value, failed.error) == ("a#1", "registry down")

    clock.now += 4
    assert not cache.get("a").refreshing  # not retried before retry_after
    loader.fail = None
    clock.now += 1
    cache.get("a")
    again = settled(cache, "a")
    assert (again.value, again.error) == ("a#3", None)


def test_a_first_load_that_fails_says_why(cache: BackgroundCache[str, str],
                                         loader: Loader) -> None:
    loader.fail = TransientError("registry down")
    loader.gate.set()
    shown = cache.get("a", wait=10)

    assert (shown.value, shown.error, shown.loading) == (None, "registry down", False)


def test_a_bug_in_a_load_is_reported_not_raised(cache: BackgroundCache[str, str],
                                                loader: Loader) -> None:
    loader.fail = KeyError("oops")
    loader.gate.set()

    assert cache.get("a", wait=10).error == "unexpected error: KeyError('oops')"


def test_expire_and_forget(cache: BackgroundCache[str, str], loader: Loader) -> None:
    loader.gate.set()
    cache.get("a", wait=10)
    cache.expire("a")
    assert cache.get("a").value == "a#1"  # served while it loads again
    assert settled(cache, "a").value == "a#2"

    cache.forget("a")
    assert cache.get("a", wait=10).value == "a#3"


def test_expiring_during_a_load_loads_again_after_it(
    cache: BackgroundCache[str, str], loader: Loader
) -> None:
    cache.get("a")
    cache.expire("a")  # the change came after the running load started reading
    loader.gate.set()
    settled(cache, "a")
    cache.get("a")
    assert settled(cache, "a").value == "a#2"
