"""Schema versions: bring a database to the schema this crossdock expects.

The revisions live in `shared.store.migrations`; Alembic is configured here, in
code (no ``alembic.ini``, no ``fileConfig``: its loggers stay quiet). A database
made before Alembic (crossdock's tables, no ``alembic_version``) holds revision
`BASELINE`: it is stamped with it, then upgraded. An up-to-date one is only read.

Every process opening a store calls `upgrade_schema`, and the receiver and the
consumers start at once: the upgrade runs in one transaction holding the schema
lock (PostgreSQL: an advisory lock; SQLite: the write lock, ``BEGIN IMMEDIATE``),
and the revision is read again once the lock is held, so the first caller
upgrades and the others find the work done.
"""

from __future__ import annotations

import os
from functools import cache

import structlog
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, inspect, text

from shared.store import migrations
from shared.store.engine import SCHEMA_LOCK_ID, WRITE_OPTION, make_engine, translate_errors
from shared.store.errors import StoreError

BASELINE = "0001"
"""The schema ``metadata.create_all`` made before there were migrations."""

_BASELINE_TABLES = frozenset({"sources", "endpoints", "rules", "executions", "jobs",
                              "job_logs", "writes", "leases"})

log = structlog.get_logger(__name__)


def head_revision() -> str:
    """The revision this crossdock's schema module describes."""
    head = _scripts().get_current_head()
    if head is None:
        raise StoreError("crossdock's schema migrations are missing")
    return head


def current_revision(engine: Engine) -> str | None:
    """The database's revision (None: empty, or made before migrations), whether or not
    this crossdock knows it.

    Raises `StoreUnavailableError`, `StoreError`.
    """
    with translate_errors(), engine.connect() as conn, conn.begin():
        return _current(conn)


def upgrade_schema(engine: Engine) -> tuple[str | None, str]:
    """Bring the database to `head_revision` (see the module docstring); returns the
    revisions before and after.

    Raises `StoreUnavailableError` (unreachable, or locked for too long), `StoreError`
    (a revision this crossdock does not know, as a newer one leaves; a failed step).
    """
    head = head_revision()
    before = current_revision(engine)
    if before == head:
        return before, head
    _check_known(before)
    with translate_errors(), engine.connect() as conn:
        conn.execution_options(**{WRITE_OPTION: True})  # SQLite: BEGIN IMMEDIATE
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": SCHEMA_LOCK_ID})
            before = _current(conn)  # again: another process may have just upgraded
            _check_known(before)
            if before != head:
                _upgrade(conn, before)
    if before != head:
        log.info("store.schema_upgraded", revision_before=before or "none", revision=head)
    return before, head


def upgrade_database(url: str) -> tuple[str | None, str]:
    """`upgrade_schema` for a database URL (``crossdock db upgrade``).

    Raises `ConfigurationError` (bad URL) and what `upgrade_schema` raises.
    """
    engine = make_engine(url)
    try:
        return upgrade_schema(engine)
    finally:
        engine.dispose()


def database_revision(url: str) -> str | None:
    """`current_revision` for a database URL (``crossdock db current``)."""
    engine = make_engine(url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def _current(conn: Connection) -> str | None:
    """The revision stamped in the database."""
    return MigrationContext.configure(conn).get_current_revision()


def _check_known(revision: str | None) -> None:
    """`StoreError` for a revision this crossdock cannot upgrade from."""
    if revision is not None and revision not in _known_revisions():
        raise StoreError(
            f"the database is at schema revision {revision}, which this crossdock does not "
            "know (was it upgraded by a newer version?)"
        )


def _upgrade(conn: Connection, before: str | None) -> None:
    """Stamp a database made before migrations, then run the missing revisions."""
    config = alembic_config(conn)
    try:
        if before is None:
            tables = set(inspect(conn).get_table_names())
            if tables & _BASELINE_TABLES:
                missing = _BASELINE_TABLES - tables
                if missing:
                    raise StoreError(
                        "the database has some of crossdock's tables but not "
                        f"{', '.join(sorted(missing))}: it cannot be upgraded"
                    )
                command.stamp(config, BASELINE)
        command.upgrade(config, "head")
    except CommandError as exc:
        raise StoreError(f"schema upgrade failed: {exc}") from None


def alembic_config(conn: Connection | None = None) -> Config:
    """Alembic's configuration for crossdock's revisions, run on ``conn`` (in its
    transaction) when given."""
    config = Config()
    location = os.path.dirname(os.path.abspath(migrations.__file__))
    config.set_main_option("script_location", location.replace("%", "%%"))
    if conn is not None:
        config.attributes["connection"] = conn
    return config


@cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


@cache
def _known_revisions() -> frozenset[str]:
    return frozenset(script.revision for script in _scripts().walk_revisions())
