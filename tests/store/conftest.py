"""Fixtures for the store tests: every test runs against SQLite (a file of its own)
and PostgreSQL (a database of its own per session, emptied after each test).

The PostgreSQL runs are marked ``postgres`` and skip, saying why, when no server
answers at ``CROSSDOCK_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``).
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from shared.store import RuleRecord, Store, generate_secret_key, open_store
from tests.store.helpers import FakeClock, RawQuery

POSTGRES_URL = os.environ.get(
    "CROSSDOCK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)

@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed")
    try:
        admin = psycopg.connect(POSTGRES_URL, connect_timeout=2, autocommit=True)
    except psycopg.OperationalError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        pytest.skip(
            f"PostgreSQL is not reachable at {POSTGRES_URL} ({first_line}); "
            "start it or point CROSSDOCK_TEST_POSTGRES_URL at one"
        )
    name = f"crossdock_test_{secrets.token_hex(6)}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            parts = urlsplit(POSTGRES_URL)
            yield urlunsplit(parts._replace(path="/" + name))
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _empty_postgres(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename <> 'alembic_version'"  # the schema stays, at its revision
        )]
        if tables:
            names = ", ".join(f'"{table}"' for table in tables)
            conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crossdock.db'}"
        return
    url: str = request.getfixturevalue("postgres_database")
    try:
        yield url
    finally:
        _empty_postgres(url)


@pytest.fixture
def secret_key() -> str:
    return generate_secret_key()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def open_stores(
    database_url: str, secret_key: str, clock: FakeClock
) -> Iterator[Callable[[], Store]]:
    """Opens stores on the test database, each with its own engine (as separate
    processes would have), and closes them afterwards."""
    opened: list[Store] = []

    def factory() -> Store:
        store = open_store(database_url, secret_key, clock=clock)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


@pytest.fixture
def store(open_stores: Callable[[], Store]) -> Store:
    return open_stores()


@pytest.fixture
def raw_query(database_url: str) -> RawQuery:
    """Runs SQL with the bare driver, bypassing the store: what is really on disk."""

    def run(sql: str) -> list[tuple[Any, ...]]:
        if database_url.startswith("sqlite"):
            conn = sqlite3.connect(database_url.removeprefix("sqlite:///"))
            try:
                return [tuple(row) for row in conn.execute(sql).fetchall()]
            finally:
                conn.close()
        import psycopg

        with psycopg.connect(database_url) as pg:
            return [tuple(row) for row in pg.execute(sql).fetchall()]

    return run


@pytest.fixture
def rule(store: Store) -> RuleRecord:
    """A rule from source "harbor-a" project "team" to endpoint "mirror-b"."""
    source = store.create_source(
        name="harbor-a", kind="harbor", url="https://a.example.com", webhook_secret="hook-s3cret"
    )
    endpoint = store.create_endpoint(
        name="mirror-b", kind="registry", url="https://b.example.com",
        username="robot", password="endpoint-pa55word",
    )
    return store.create_rule(
        name="team-to-b", source_id=source.id, project="team", endpoint_id=endpoint.id
    )
