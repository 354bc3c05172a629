"""`shared.store.writers.FileLock`: an exclusive flock waited for at most a given time,
whose helper hands a lock that comes free late to the next caller, or gives it back."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.store.writers import FileLock


@pytest.fixture
def path(tmp_path: Path) -> str:
    return str(tmp_path / "crossdock.db-writers")


@pytest.fixture
def lock(path: str) -> Iterator[FileLock]:
    file_lock = FileLock(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    yield file_lock
    file_lock.close()


@pytest.fixture
def holder(path: str) -> Iterator[int]:
    """Another open file of the lock, holding it (as another process would)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    yield fd
    os.close(fd)


def _free_within(path: str, seconds: float) -> bool:
    """Whether a third party can take the lock within ``seconds``."""
    fd = os.open(path, os.O_RDWR)
    try:
        deadline = time.monotonic() + seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.01)
    finally:
        os.close(fd)


def test_a_free_lock_is_taken_at_once(lock: FileLock, path: str) -> None:
    assert lock.acquire(0)
    assert not _free_within(path, 0)
    lock.release()
    assert _free_within(path, 0)


def test_a_held_lock_is_waited_for_until_the_timeout(lock: FileLock, holder: int) -> None:
    started = time.monotonic()
    assert not lock.acquire(0.3)
    assert 0.25 <= time.monotonic() - started < 2


def test_a_lock_freed_late_goes_to_the_next_caller(
    lock: FileLock, holder: int, path: str
) -> None:
    # Given a caller that gave up waiting,
    assert not lock.acquire(0.1)
    # when the holder lets go while the next caller waits, that caller gets it.
    fcntl.flock(holder, fcntl.LOCK_UN)
    assert lock.acquire(5)
    assert not _free_within(path, 0)
    lock.release()


def test_a_lock_freed_late_with_no_caller_left_is_given_back(
    lock: FileLock, holder: int, path: str
) -> None:
    # Given a caller that gave up waiting, and no other,
    assert not lock.acquire(0.1)
    fcntl.flock(holder, fcntl.LOCK_UN)
    # once the holder lets go, the lock is free for the other processes.
    assert _free_within(path, 5)
