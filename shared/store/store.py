"""The `Store`: crossdock's only door to its database, and `open_store` to build one."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Engine, text

from shared.settings import Settings
from shared.store.base import Clock, utc_now
from shared.store.coordination import CoordinationStore
from shared.store.engine import make_engine
from shared.store.inventory import InventoryStore
from shared.store.jobs import JobStore
from shared.store.links import LinkStore
from shared.store.migrate import upgrade_schema
from shared.store.pairs import PairStore
from shared.store.registries import RegistryStore
from shared.store.rules import RuleStore
from shared.store.secrets import SecretBox


class Store(RegistryStore, LinkStore, RuleStore, PairStore, InventoryStore, JobStore,
            CoordinationStore):
    """Sources, endpoints and the links that say a source and an endpoint are one
    registry; rules, their two-way pairs with their sync bases, and what each rule
    wrote (its inventory); executions, jobs and their logs; and leases. Each method
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

    def __init__(self, engine: Engine, secrets: SecretBox, *, clock: Clock = utc_now) -> None:
        super().__init__(engine, secrets, clock=clock)

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
    clock: Clock = utc_now,
) -> Store:
    """A `Store` for ``settings.database_url`` (or a URL), its schema created or
    upgraded in place to this crossdock's (`shared.store.migrate.upgrade_schema`).

    ``secret_key`` defaults to ``settings.secret_key``; with a bare URL it must be
    given. Opens no connection when ``create_tables`` is False.

    Raises `ConfigurationError` (missing or malformed key, bad URL),
    `StoreUnavailableError` (database unreachable while upgrading the schema),
    `StoreError` (a schema this crossdock cannot upgrade).
    """
    if isinstance(settings_or_url, Settings):
        url = settings_or_url.database_url
        key = settings_or_url.secret_key if secret_key is None else secret_key
    else:
        url, key = settings_or_url, secret_key or ""
    secrets = SecretBox(key)
    engine = make_engine(url)
    try:
        if create_tables:
            upgrade_schema(engine)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine, secrets, clock=clock)
