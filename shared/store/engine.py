"""Engines, connection set-up, the store's wait limit, and the translation of errors.

SQLite (the default: see `shared.store.location`) is shared by separate processes
(receiver, consumers), so every connection gets WAL mode, a busy timeout and
foreign keys. Transactions that write start with ``BEGIN IMMEDIATE``: the write
lock is taken up front and waited for (busy timeout) instead of failing when a
read lock cannot be upgraded; before that, writers queue for their turn
(`shared.store.writers.WriterTurns`), so that they are woken in order instead of
polling the lock. PostgreSQL (``postgresql://...``) goes through psycopg 3.

An engine made with a wait limit (``wait_seconds``) bounds every wait of a store
call by it: on SQLite a writer's turn and busy timeout together, on PostgreSQL
``lock_timeout`` and ``statement_timeout`` (per connection) and the connect
timeout. Past it the call raises `StoreUnavailableError` ("the store is busy").
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url

from shared.errors import ConfigurationError, CrossdockError
from shared.store.errors import ConflictError, StoreError, StoreUnavailableError
from shared.store.writers import WriterTurns

DEFAULT_WAIT_SECONDS = 10.0
"""Wait limit of a store opened without one (consumers, the command line)."""
CONNECT_TIMEOUT_SECONDS = 10  # PostgreSQL, without a wait limit
WRITE_OPTION = "crossdock_write"  # execution option: this transaction will write
WAIT_OPTION = "crossdock_wait"  # engine execution option: its wait limit (seconds)
DEADLINE_OPTION = "crossdock_deadline"  # a write's turn: time.monotonic() to be busy by
SCHEMA_LOCK_ID = 0x63726F73  # PostgreSQL advisory lock serializing schema upgrades
_BUSY_SQLSTATES = frozenset({"55P03", "57014"})  # lock_timeout, statement_timeout


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


def make_engine(raw_url: str, *, wait_seconds: float | None = None) -> Engine:
    """An Engine for the URL, with crossdock's per-connection settings.

    ``wait_seconds`` bounds what a store call waits for (see the module docstring).
    Without it, SQLite waits `DEFAULT_WAIT_SECONDS` and PostgreSQL statements have no
    limit (schema upgrades, ``crossdock db``).

    Raises `ConfigurationError` for a bad URL or a missing driver.
    """
    url = database_url(raw_url)
    try:
        if url.get_backend_name() == "sqlite":
            wait = DEFAULT_WAIT_SECONDS if wait_seconds is None else wait_seconds
            engine = create_engine(url, connect_args={"timeout": wait},
                                   execution_options={WAIT_OPTION: wait})
            _configure_sqlite(engine)
        else:
            engine = create_engine(
                url,
                pool_pre_ping=True,  # drop connections a PostgreSQL restart killed
                connect_args=_postgres_limits(url, wait_seconds),
                pool_timeout=DEFAULT_WAIT_SECONDS if wait_seconds is None else wait_seconds,
                execution_options={WAIT_OPTION: wait_seconds},
            )
    except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError, ImportError) as exc:
        raise ConfigurationError(f"database_url: cannot use this database: {exc}") from None
    return engine


def wait_limit(engine: Engine) -> float:
    """The wait limit `make_engine` gave ``engine`` (`DEFAULT_WAIT_SECONDS` if none)."""
    wait = engine.get_execution_options().get(WAIT_OPTION)
    return DEFAULT_WAIT_SECONDS if wait is None else float(wait)


def _postgres_limits(url: URL, wait_seconds: float | None) -> dict[str, Any]:
    """psycopg connect arguments: the connect timeout, and the lock and statement
    timeouts as startup options (no round trip). Options in the URL come after ours,
    so they win."""
    if wait_seconds is None:
        return {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    milliseconds = max(1, round(wait_seconds * 1000))
    options = f"-c lock_timeout={milliseconds} -c statement_timeout={milliseconds}"
    given = url.query.get("options")
    for extra in (given,) if isinstance(given, str) else given or ():
        options += f" {extra}"
    # Whole seconds; psycopg (like libpq) waits at least 2.
    return {"connect_timeout": max(2, math.ceil(wait_seconds)), "options": options}


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        # Take BEGIN away from the sqlite3 module (it would skip it for SELECTs):
        # `_on_begin` below emits it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            busy_ms = _busy_timeout_ms(engine.get_execution_options())
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            record.info["busy_ms"] = busy_ms
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")  # durable enough in WAL mode
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        statement = "BEGIN IMMEDIATE" if options.get(WRITE_OPTION, False) else "BEGIN"
        # Straight to the driver: every store call begins a transaction, and a
        # statement through SQLAlchemy's execution machinery costs ~10x more.
        pooled = conn.connection
        dbapi_connection: Any = pooled.dbapi_connection
        try:
            # A write's busy timeout is what is left of its turn's wait limit.
            busy_ms = _busy_timeout_ms(options)
            if pooled.info.get("busy_ms") != busy_ms:
                dbapi_connection.execute(f"PRAGMA busy_timeout = {busy_ms}")
                pooled.info["busy_ms"] = busy_ms
            dbapi_connection.execute(statement)
        except sqlite3.Error as exc:
            # As SQLAlchemy would have wrapped it, for `translate_errors`.
            raise sa_exc.DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc


def _busy_timeout_ms(options: Mapping[str, Any]) -> int:
    """SQLite's busy timeout: the time left before a write's deadline, else the limit."""
    deadline: float | None = options.get(DEADLINE_OPTION)
    if deadline is None:
        wait: float | None = options.get(WAIT_OPTION)
        return round((DEFAULT_WAIT_SECONDS if wait is None else wait) * 1000)
    return max(0, round((deadline - time.monotonic()) * 1000))


def writer_turns(engine: Engine) -> WriterTurns | None:
    """Turns for `engine`'s writers: SQLite only (PostgreSQL locks rows, not the database)."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    plain_file = database and database != ":memory:" and not database.startswith("file:")
    return WriterTurns(f"{database}-writers" if plain_file else None, wait_limit(engine))


def default_conflict(exc: sa_exc.IntegrityError) -> CrossdockError:
    return ConflictError("the change conflicts with stored data (a unique name or a reference)")


@contextmanager
def translate_errors(
    on_integrity: Callable[[sa_exc.IntegrityError], CrossdockError] = default_conflict,
) -> Iterator[None]:
    """Re-raise SQLAlchemy exceptions as crossdock's.

    Connectivity, lock and statement timeouts, deadlocks and serialization failures
    become `StoreUnavailableError` (transient; "the store is busy" when a wait limit
    ran out); constraint violations become what
    `on_integrity` says (`ConflictError` by default); anything else `StoreError`.
    Driver messages can quote parameters, so they are kept out of our messages
    and only chained as the cause.
    """
    try:
        yield
    except sa_exc.IntegrityError as exc:
        raise on_integrity(exc) from exc
    except (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError) as exc:
        if _busy(exc):
            raise StoreUnavailableError(f"the store is busy: {_summary(exc)}") from exc
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


def _busy(exc: sa_exc.SQLAlchemyError) -> bool:
    """Whether a wait limit ran out: SQLite's busy timeout, PostgreSQL's lock or
    statement timeout, or no pooled connection free in time."""
    if isinstance(exc, sa_exc.TimeoutError):
        return True
    orig = getattr(exc, "orig", None)
    if isinstance(orig, sqlite3.Error):
        return orig.sqlite_errorname.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))
    return getattr(orig, "sqlstate", None) in _BUSY_SQLSTATES
