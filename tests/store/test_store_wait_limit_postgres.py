"""A PostgreSQL store opened with a wait limit gives each connection a lock and a
statement timeout of that limit: a lock held elsewhere, or a statement that runs
long, ends in `StoreUnavailableError` ("the store is busy"), not in a stall."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from shared.store import RuleRecord, Store, StoreUnavailableError, open_store
from tests.store.waiting import timed_failure, webhook_job

pytestmark = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture
def impatient(database_url: str, secret_key: str) -> Iterator[Store]:
    store = open_store(database_url, secret_key, wait_seconds=1)
    yield store
    store.close()


@pytest.fixture
def other(database_url: str) -> Iterator[Any]:
    """Another client's connection, in a transaction."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        yield conn
        conn.rollback()


LOCKS = {
    # what the jobs' foreign key check must share
    "a row lock on the rule": "SELECT id FROM rules WHERE id = {rule} FOR UPDATE",
    "a table lock on the jobs": "LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE",
}


@pytest.mark.parametrize("lock", LOCKS.values(), ids=LOCKS.keys())
def test_a_write_blocked_by_a_lock_gives_up_at_its_limit_and_succeeds_after(
    impatient: Store, rule: RuleRecord, other: Any, lock: str
) -> None:
    # Given another connection holding a lock that recording a job must wait for,
    other.execute(lock.format(rule=rule.id))

    # a store with a one-second limit is told the store is busy within the limit,
    error, elapsed = timed_failure(lambda: impatient.create_jobs([webhook_job(rule, "v1")]))
    assert isinstance(error, StoreUnavailableError), error
    assert "the store is busy" in str(error)
    assert 0.9 <= elapsed < 3

    # and records the job once the lock is released.
    other.rollback()
    assert [job.tag for job in impatient.create_jobs([webhook_job(rule, "v2")])] == ["v2"]


def test_a_statement_that_runs_past_the_limit_is_cancelled(impatient: Store) -> None:
    def sleep() -> None:
        with impatient._read() as conn:
            conn.execute(text("SELECT pg_sleep(10)"))

    error, elapsed = timed_failure(sleep)
    assert isinstance(error, StoreUnavailableError), error
    assert "the store is busy" in str(error)
    assert elapsed < 3
    impatient.ping()  # the connection is still good


def test_options_in_the_url_come_after_the_limit_and_win(
    database_url: str, secret_key: str
) -> None:
    url = f"{database_url}?options=-c%20statement_timeout%3D7000"
    with open_store(url, secret_key, wait_seconds=1) as store, store._read() as conn:
        settings = conn.execute(text(
            "SELECT current_setting('lock_timeout'), current_setting('statement_timeout')"
        )).one()
    assert tuple(settings) == ("1s", "7s")


def test_a_store_without_a_limit_given_waits_ten_seconds(store: Store) -> None:
    with store._read() as conn:
        assert conn.execute(text("SHOW lock_timeout")).scalar_one() == "10s"
