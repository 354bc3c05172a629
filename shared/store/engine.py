"""Engines, connection set-up, schema creation, and the translation of errors.

SQLite (the default, ``sqlite:///crossdock.db``) is shared by separate processes
(receiver, consumers), so every connection gets WAL mode, a busy timeout and
foreign keys. Transactions that write start with ``BEGIN IMMEDIATE``: the write
lock is taken up front and waited for (busy timeout) instead of failing when a
read lock cannot be upgraded. PostgreSQL (``postgresql://...``) goes through
psycopg 3.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url

from shared.errors import ConfigurationError, CrossdockError
from shared.store.errors import ConflictError, StoreError, StoreUnavailableError
from shared.store.schema import metadata

BUSY_TIMEOUT_SECONDS = 10
CONNECT_TIMEOUT_SECONDS = 10
WRITE_OPTION = "crossdock_write"  # execution option: this transaction will write
_SCHEMA_LOCK_ID = 0x63726F73  # PostgreSQL advisory lock serializing create_all


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
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def create_schema(engine: Engine) -> None:
    """Create the missing tables and indexes; safe when several processes start at once.

    Raises `StoreUnavailableError` or `StoreError`.
    """
    with translate_errors(), engine.connect() as conn:
        conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _SCHEMA_LOCK_ID})
            metadata.create_all(conn)


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
