"""Turns for the writing transactions on one SQLite database file, each waited for
within the store's wait limit.

SQLite has one writer at a time, and a connection that finds the write lock taken
waits in SQLite's busy handler, which polls it with sleeps of 1, 2, 5, 10 ... 100 ms.
Under load that polling sets the pace rather than the writes (a fraction of a
millisecond each), and a process whose writers keep the lock busy starves the
others. So writers queue before ``BEGIN IMMEDIATE``: the threads of a process on a
lock, then the stores of every process on an exclusive `fcntl.flock` of
``<database>-writers``, where the kernel wakes the next one as soon as a turn ends.
This only orders the queue: SQLite's own locking still guarantees correctness, and
a writer that does not queue here (the sqlite3 shell, a store whose lock file could
not be opened) is waited for in the busy handler.

The three waits (thread lock, file lock, busy handler) share one limit, so that a
webhook answers "the store is busy" before the registry gives up on it.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from shared.store.errors import StoreUnavailableError


class WriterTurns:
    """This process's queue of writers, and its place in the database's queue.

    `turn` waits at most ``wait_seconds`` in all, then raises `StoreUnavailableError`
    ("the store is busy"); it yields the deadline (`time.monotonic`) by which SQLite's
    write lock must be held too, for the busy timeout of ``BEGIN IMMEDIATE``.
    """

    def __init__(self, path: str | None, wait_seconds: float) -> None:
        self._lock = threading.Lock()
        self._path = path
        self._wait = wait_seconds
        self._file_lock: FileLock | None = None
        self._pid = 0  # the process that opened the file: a forked child opens its own

    @contextmanager
    def turn(self) -> Iterator[float]:
        """Hold this process's turn, and the database's, for one transaction."""
        deadline = time.monotonic() + self._wait
        if not self._lock.acquire(timeout=self._wait):
            raise self._busy("another thread of this process is writing")
        try:
            file_lock = self._file()
            if file_lock is None:
                yield deadline
                return
            if not file_lock.acquire(deadline - time.monotonic()):
                raise self._busy("another process is writing")
            try:
                yield deadline
            finally:
                file_lock.release()
        finally:
            self._lock.release()

    def close(self) -> None:
        """Close the lock file (call once no thread writes)."""
        file_lock, self._file_lock, self._path = self._file_lock, None, None
        if file_lock is not None and self._pid == os.getpid():
            file_lock.close()

    def _busy(self, why: str) -> StoreUnavailableError:
        return StoreUnavailableError(
            f"the store is busy: no turn to write within {self._wait:g} s ({why})"
        )

    def _file(self) -> FileLock | None:
        """The lock file, opened once per process (with this process's turn held), or
        None without one: an in-memory database, or one we cannot create."""
        if self._path is not None and (self._file_lock is None or self._pid != os.getpid()):
            try:
                fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:
                self._file_lock, self._path = None, None
            else:
                self._file_lock, self._pid = FileLock(fd), os.getpid()
        return self._file_lock


class FileLock:
    """An exclusive `fcntl.flock` on an open file (which it owns), waited for at most a
    given time. One caller at a time (`WriterTurns` holds its thread lock around it).

    ``flock`` waits without a limit, and polling it would give the lock to whichever
    process polls first rather than to the next in the queue. So a contended lock is
    waited for by a helper thread, which the kernel wakes as soon as the holder lets
    go: it hands the lock to its caller if that one still waits, else to the next
    caller of this process, or gives it back at once when there is none. At most one
    helper per process waits, even behind a holder that never lets go.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._state = threading.Condition()
        self._helper: threading.Thread | None = None  # blocked in flock for us
        self._wanted = False  # a caller is waiting for the helper
        self._granted = False  # the helper got the lock for that caller
        self._closed = False

    def acquire(self, timeout: float) -> bool:
        """Take the lock; False when it was not free within ``timeout`` seconds."""
        with self._state:
            if self._helper is None:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return True
                except BlockingIOError:
                    pass
                self._helper = threading.Thread(
                    target=self._wait, name="crossdock-store-writers", daemon=True
                )
                self._helper.start()
            self._wanted = True
            granted = self._state.wait_for(lambda: self._granted, timeout=max(0.0, timeout))
            self._wanted = self._granted = False
            return granted

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the file; a helper still waiting closes it when it is done."""
        with self._state:
            self._closed = True
            if self._helper is None:
                os.close(self._fd)

    def _wait(self) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            locked = True
        except OSError:  # the caller times out; the next one tries again
            locked = False
        with self._state:
            self._helper = None
            if locked and self._wanted and not self._closed:
                self._granted = True
                self._state.notify_all()
                return
            if locked:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            if self._closed:
                os.close(self._fd)
