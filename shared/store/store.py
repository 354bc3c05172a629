"""The `Store`: crossdock's only door to its database, and `open_store` to build one."""

from __future__ import annotations

import time
from types import TracebackType

from sqlalchemy import Engine, text

from shared.settings import Settings
from shared.store.base import Clock, utc_now
from shared.store.coordination import CoordinationStore
from shared.store.delays import DelayStore
from shared.store.engine import DEFAULT_WAIT_SECONDS, make_engine
from shared.store.errors import StoreUnavailableError
from shared.store.inventory import InventoryStore
from shared.store.jobs import JobStore
from shared.store.jobsetting import JobSettingStore
from shared.store.keycheck import KeyCheckStore
from shared.store.links import LinkStore
from shared.store.location import StoreLocation, locate_store, prepare_location
from shared.store.migrate import (
    current_revision,
    head_revision,
    upgrade_database,
    upgrade_schema,
)
from shared.store.pairs import PairStore
from shared.store.registries import RegistryStore
from shared.store.rules import RuleStore
from shared.store.secrets import SecretBox


class Store(RegistryStore, LinkStore, RuleStore, PairStore, InventoryStore, JobStore,
            JobSettingStore, CoordinationStore, KeyCheckStore, DelayStore):
    """Sources, endpoints and the links that say a source and an endpoint are one
    registry; rules, their two-way pairs with their sync bases, and what each rule
    wrote (its inventory); executions, jobs and their logs; leases; and the delays
    queues were declared with. Each method
    is one transaction; it returns frozen records and raises only crossdock errors:

    - `StoreUnavailableError` (transient): the database is unreachable or busy;
    - `RecordNotFoundError`: no row with that id or name;
    - `ConflictError`: a name already taken, a source or endpoint still in use or
      already linked;
    - `StoreError`: any other database failure;
    - `ConfigurationError`: a stored secret the configured key cannot open;
    - `ValueError`: a value outside an enumeration (the API validates input first).

    Thread-safe: each call takes its own pooled connection.
    """

    def __init__(self, engine: Engine, secrets: SecretBox, *, clock: Clock = utc_now,
                 location: StoreLocation | None = None) -> None:
        super().__init__(engine, secrets, clock=clock)
        self.location = location  # where it is, for the start-up log line

    def ping(self) -> None:
        """Readiness check: one round trip. Raises `StoreUnavailableError` (or `StoreError`)."""
        with self._read() as conn:
            conn.execute(text("SELECT 1"))

    def close(self) -> None:
        """Close the pooled connections."""
        self._engine.dispose()
        if self._writers is not None:
            self._writers.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def open_store(
    settings_or_url: Settings | str,
    secret_key: str | None = None,
    *,
    create_tables: bool = True,
    may_create: bool = True,
    clock: Clock = utc_now,
    wait_seconds: float = DEFAULT_WAIT_SECONDS,
) -> Store:
    """A `Store` for ``settings.database_url`` (or a URL; empty: the default location,
    see `shared.store.location`), its schema created or upgraded in place to this
    crossdock's (`shared.store.migrate.upgrade_schema`) and the key checked against the
    store's (`shared.store.keycheck`).

    ``secret_key`` defaults to ``settings.secret_key``; with a bare URL it must be
    given. ``may_create``: whether a missing SQLite file may be created (the receiver;
    every other process opens an existing store). Checks nothing in the database and
    opens no connection when ``create_tables`` is False. ``wait_seconds``
    bounds each call's waits for the database (SQLite: the writer's turn and the
    busy timeout together; PostgreSQL: connect, lock and statement timeouts): past
    it, `StoreUnavailableError`. The receiver passes ``settings.store_wait_seconds``,
    to answer within a registry's notification timeout; consumers and the command
    line keep the default.

    Raises `ConfigurationError` (missing or malformed key, a key that is not the
    store's, bad URL; `StoreNotFoundError`, `LegacyStoreError`: see
    `shared.store.location.prepare_location`), `StoreUnavailableError` (database
    unreachable while upgrading the schema), `StoreError` (a schema this crossdock
    cannot upgrade).
    """
    if isinstance(settings_or_url, Settings):
        url = settings_or_url.database_url
        key = settings_or_url.secret_key if secret_key is None else secret_key
    else:
        url, key = settings_or_url, secret_key or ""
    secrets = SecretBox(key)
    location = locate_store(url)
    prepare_location(location, may_create=may_create)
    engine = make_engine(location.url, wait_seconds=wait_seconds)
    store = Store(engine, secrets, clock=clock, location=location)
    try:
        if create_tables:
            _upgrade(engine, location.url)
            store.check_key(location.shown)
    except BaseException:
        store.close()
        raise
    return store


def _upgrade(engine: Engine, url: str) -> None:
    """`upgrade_schema`; on PostgreSQL an upgrade runs on an engine of its own, without
    the statement timeout (a migration may take longer than a store call)."""
    if engine.dialect.name != "postgresql":
        _upgrade_sqlite(engine)
    elif current_revision(engine) != head_revision():
        upgrade_database(url)


def _upgrade_sqlite(engine: Engine, attempts: int = 5) -> None:
    """`upgrade_schema` on SQLite, tried again a few times when the file is busy:
    processes that start at once on a new file can get SQLITE_BUSY that SQLite does
    not wait out (the first switch to WAL mode while another one creates the schema).
    Raises `StoreUnavailableError` when it stays busy."""
    for attempt in range(1, attempts + 1):
        try:
            upgrade_schema(engine)
            return
        except StoreUnavailableError:
            if attempt == attempts:
                raise
            time.sleep(0.1 * attempt)
