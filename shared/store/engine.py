"""Engines, connection set-up, and the translation of errors.

SQLite (the default, ``sqlite:///crossdock.db``) is shared by separate processes
(receiver, consumers), so every connection gets WAL mode, a busy timeout and
foreign keys. Transactions that write start with ``BEGIN IMMEDIATE``: the write
lock is taken up front and waited for (busy timeout) instead of failing when a
read lock cannot be upgraded; before that, writers queue for their turn
(`WriterTurns`), so that they are woken in order instead of polling the lock.
PostgreSQL (``postgresql://...``) goes through psycopg 3.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url

from shared.errors import ConfigurationError, CrossdockError
from shared.store.errors import ConflictError, StoreError, StoreUnavailableError

BUSY_TIMEOUT_SECONDS = 10
CONNECT_TIMEOUT_SECONDS = 10
WRITE_OPTION = "crossdock_write"  # execution option: this transaction will write
SCHEMA_LOCK_ID = 0x63726F73  # PostgreSQL advisory lock serializing schema upgrades


def database_url(raw: str) -> URL:
    """Parse a database URL, mapping ``postgresql://`` to the psycopg 3 driver.

    Raises `ConfigurationError` for an unparsable URL or another database.
    """
    try:
        url = make_url(raw)
    except sa_exc.ArgumentError:
        raise ConfigurationError("database_url is not a valid database URL") from None
    backend = url.get_backend_name()
    if backend in ("postgresql", "postgres"):
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        return url
    if backend == "sqlite":
        return url
    raise ConfigurationError(
        f"database_url: unsupported database {backend!r} (use sqlite:/// or postgresql://)"
    )


def make_engine(raw_url: str) -> Engine:
    """An Engine for the URL, with crossdock's per-connection settings.

    Raises `ConfigurationError` for a bad URL or a missing driver.
    """
    url = database_url(raw_url)
    try:
        if url.get_backend_name() == "sqlite":
            engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS})
            _configure_sqlite(engine)
        else:
            engine = create_engine(
                url,
                pool_pre_ping=True,  # drop connections a PostgreSQL restart killed
                connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
            )
    except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError, ImportError) as exc:
        raise ConfigurationError(f"database_url: cannot use this database: {exc}") from None
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the sqlite3 module (it would skip it for SELECTs):
        # `_on_begin` below emits it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_SECONDS * 1000}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")  # durable enough in WAL mode
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        writes = conn.get_execution_options().get(WRITE_OPTION, False)
        statement = "BEGIN IMMEDIATE" if writes else "BEGIN"
        # Straight to the driver: every store call begins a transaction, and a
        # statement through SQLAlchemy's execution machinery costs ~10x more.
        try:
            conn.connection.dbapi_connection.execute(statement)  # type: ignore[union-attr]
        except sqlite3.Error as exc:
            # As SQLAlchemy would have wrapped it, for `translate_errors`.
            raise sa_exc.DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc


class WriterTurns:
    """Turns for the writing transactions on one SQLite database file.

    SQLite has one writer at a time, and a connection that finds the write lock
    taken waits in SQLite's busy handler, which polls it with sleeps of 1, 2, 5,
    10 ... 100 ms. Under load that polling sets the pace rather than the writes
    (a fraction of a millisecond each), and a process whose writers keep the lock
    busy starves the others. So writers queue before ``BEGIN IMMEDIATE``: the
    threads of a process on a lock, then the stores of every process on an
    exclusive `fcntl.flock` of ``<database>-writers``, where the kernel wakes the
    next one as soon as a turn ends. This only orders the queue: SQLite's own
    locking still guarantees correctness, and a writer that does not queue here
    (the sqlite3 shell, a store whose lock file could not be opened) is waited
    for in the busy handler as before.

    A thread waits for its turn in the process at most `BUSY_TIMEOUT_SECONDS`
    (then `StoreUnavailableError`); only the thread holding that turn waits on the
    file lock, which other processes hold for one transaction at a time.
    """

    def __init__(self, path: str | None) -> None:
        self._lock = threading.Lock()
        self._path = path
        self._fd: int | None = None
        self._pid = 0  # the process that opened _fd: a forked child opens its own

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold this process's turn, and the database's, for one transaction."""
        if not self._lock.acquire(timeout=BUSY_TIMEOUT_SECONDS):
            raise StoreUnavailableError(
                f"database unavailable: no turn to write within {BUSY_TIMEOUT_SECONDS} s"
            )
        try:
            fd = self._file()
            if fd is None:
                yield
                return
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._lock.release()

    def close(self) -> None:
        """Close the lock file (call once no thread writes)."""
        fd, self._fd, self._path = self._fd, None, None
        if fd is not None and self._pid == os.getpid():
            os.close(fd)

    def _file(self) -> int | None:
        """The lock file, opened once per process (with this process's turn held), or
        None without one: an in-memory database, or one we cannot create."""
        if self._path is not None and (self._fd is None or self._pid != os.getpid()):
            try:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                self._pid = os.getpid()
            except OSError:
                self._fd, self._path = None, None
        return self._fd


def writer_turns(engine: Engine) -> WriterTurns | None:
    """Turns for `engine`'s writers: SQLite only (PostgreSQL locks rows, not the database)."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    plain_file = database and database != ":memory:" and not database.startswith("file:")
    return WriterTurns(f"{database}-writers" if plain_file else None)


def default_conflict(exc: sa_exc.IntegrityError) -> CrossdockError:
    return ConflictError("the change conflicts with stored data (a unique name or a reference)")


@contextmanager
def translate_errors(
    on_integrity: Callable[[sa_exc.IntegrityError], CrossdockError] = default_conflict,
) -> Iterator[None]:
    """Re-raise SQLAlchemy exceptions as crossdock's.

    Connectivity, lock timeouts, deadlocks and serialization failures become
    `StoreUnavailableError` (transient); constraint violations become what
    `on_integrity` says (`ConflictError` by default); anything else `StoreError`.
    Driver messages can quote parameters, so they are kept out of our messages
    and only chained as the cause.
    """
    try:
        yield
    except sa_exc.IntegrityError as exc:
        raise on_integrity(exc) from exc
    except (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError) as exc:
        raise StoreUnavailableError(f"database unavailable: {_summary(exc)}") from exc
    except sa_exc.DBAPIError as exc:
        if exc.connection_invalidated:
            raise StoreUnavailableError(f"database connection lost: {_summary(exc)}") from exc
        raise StoreError(f"database error: {_summary(exc)}") from exc
    except sa_exc.SQLAlchemyError as exc:
        raise StoreError(f"database error: {type(exc).__name__}") from exc


def _summary(exc: sa_exc.SQLAlchemyError) -> str:
    """The driver's error class and first line, without the SQL or its parameters."""
    orig = getattr(exc, "orig", None)
    if orig is None:
        return type(exc).__name__
    first_line = (str(orig).strip().splitlines() or [""])[0]
    return f"{type(orig).__name__}: {first_line}"[:300]
