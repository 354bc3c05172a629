"""Alembic's environment: run the migrations on the connection crossdock passes in.

`shared.store.migrate` puts an open connection, inside its transaction, in
``config.attributes["connection"]``; every revision then runs in that one
transaction. Run by the ``alembic`` command instead (a developer writing a
revision), it connects to the configured ``database_url`` itself.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from shared.store.schema import metadata


def run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()


def run_standalone() -> None:
    from shared.settings import load_settings
    from shared.store.engine import make_engine
    from shared.store.location import locate_store

    url = (context.config.get_main_option("sqlalchemy.url")
           or locate_store(load_settings().database_url).url)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            run_migrations(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("crossdock's migrations run online only (no --sql)")
passed = context.config.attributes.get("connection")
if passed is None:
    run_standalone()
else:
    run_migrations(passed)
