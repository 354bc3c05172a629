"""A SQLite store waits for the database at most its wait limit, in total: the turn of
its process's writers, the turn of the other processes' (the file lock), and SQLite's
busy timeout. Past it: `StoreUnavailableError`, "the store is busy" (the receiver's
503), well within a registry's notification timeout."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import signal
import sqlite3
import threading
from collections.abc import Iterator
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest

from shared.errors import ConfigurationError
from shared.settings import load_settings
from shared.store import RuleRecord, Store, StoreUnavailableError, generate_secret_key, open_store
from tests.store.waiting import timed_failure, webhook_job

SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'crossdock.db'}"


@pytest.fixture
def key() -> str:
    return generate_secret_key()


@pytest.fixture
def rule(url: str, key: str) -> RuleRecord:
    with open_store(url, key) as store:
        source = store.create_source(name="a", kind="distribution", url="http://a:5000")
        endpoint = store.create_endpoint(name="b", kind="registry", url="http://b:5000")
        return store.create_rule(name="a-to-b", source_id=source.id, project="team",
                                 endpoint_id=endpoint.id)


@pytest.fixture
def impatient(url: str, key: str) -> Iterator[Store]:
    """A store that waits at most one second, as the receiver's does."""
    store = open_store(url, key, wait_seconds=1)
    yield store
    store.close()


def _hold_the_writer_turn(url: str, key: str, holding: Event, release: Event) -> None:
    """In a child process: what another crossdock process in a write looks like (its
    thread's turn, the file lock, SQLite's write lock), held until ``release``."""
    store = open_store(url, key, create_tables=False)
    with store._write():
        holding.set()
        release.wait(120)
    store.close()


@pytest.fixture
def writer(url: str, key: str) -> Iterator[tuple[multiprocessing.process.BaseProcess, Event]]:
    """Another process holding the writer turn, and the event that ends its write."""
    holding, release = SPAWN.Event(), SPAWN.Event()
    child = SPAWN.Process(target=_hold_the_writer_turn, args=(url, key, holding, release))
    child.start()
    try:
        assert holding.wait(60), "the other process never got its turn"
        yield child, release
    finally:
        if child.is_alive() and child.pid is not None:  # (a killed child can't be woken)
            os.kill(child.pid, signal.SIGCONT)
            release.set()
        child.join(30)
        if child.is_alive():
            child.kill()
            child.join(30)


def test_a_write_gives_up_at_its_limit_behind_another_process_and_succeeds_after(
    impatient: Store, rule: RuleRecord,
    writer: tuple[multiprocessing.process.BaseProcess, Event],
) -> None:
    child, release = writer
    # Given another crossdock process in the middle of a write,
    # when a store with a one-second limit records a job,
    error, elapsed = timed_failure(lambda: impatient.create_jobs([webhook_job(rule, "v1")]))

    # then it is told the store is busy once the limit is up (not 10 s, not never),
    assert isinstance(error, StoreUnavailableError), error
    assert "the store is busy" in str(error)
    assert 0.9 <= elapsed < 3
    # and once the other write ends, writes go through again.
    release.set()
    child.join(30)
    assert child.exitcode == 0
    assert [job.tag for job in impatient.create_jobs([webhook_job(rule, "v2")])] == ["v2"]


def test_a_frozen_process_holding_the_writer_turn_stalls_a_write_only_to_its_limit(
    impatient: Store, rule: RuleRecord,
    writer: tuple[multiprocessing.process.BaseProcess, Event],
) -> None:
    child, _release = writer
    # Given another crossdock process frozen in the middle of a write (SIGSTOP),
    assert child.pid is not None
    os.kill(child.pid, signal.SIGSTOP)
    try:
        # two writes in a row each give up at the limit (the first one's wait for the
        # file lock does not hold up the second);
        for tag in ("v1", "v2"):
            error, elapsed = timed_failure(
                lambda tag=tag: impatient.create_jobs([webhook_job(rule, tag)]))
            assert isinstance(error, StoreUnavailableError), error
            assert 0.9 <= elapsed < 3
        # and reads still work (WAL: a reader never waits for the writer).
        assert impatient.list_jobs() == []
    finally:
        # Once that process is gone, its locks go with it, and writes go through.
        child.kill()
        child.join(30)
    assert [job.tag for job in impatient.create_jobs([webhook_job(rule, "v3")])] == ["v3"]


def test_the_waits_for_the_turn_and_for_sqlites_lock_share_one_limit(
    url: str, key: str, rule: RuleRecord
) -> None:
    database = url.removeprefix("sqlite:///")
    with open_store(url, key, wait_seconds=2) as store:
        store.create_jobs([webhook_job(rule, "v0")])  # opens the lock file
        # Given the file lock held for 1.5 s, and SQLite's write lock held for longer
        # by a program that does not queue for turns,
        other = sqlite3.connect(database, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        fd = os.open(f"{database}-writers", os.O_RDWR)
        fcntl.flock(fd, fcntl.LOCK_EX)
        unlock = threading.Timer(1.5, fcntl.flock, (fd, fcntl.LOCK_UN))
        unlock.start()
        try:
            # a write with a two-second limit gives up after two seconds in all (the busy
            # timeout is what is left once it has the turn), not 1.5 + 2 s.
            error, elapsed = timed_failure(lambda: store.create_jobs([webhook_job(rule, "v1")]))
        finally:
            unlock.join()
            os.close(fd)
            other.execute("ROLLBACK")
            other.close()
        assert isinstance(error, StoreUnavailableError), error
        assert "database is locked" in str(error)
        assert 1.4 <= elapsed < 3
        assert [job.tag for job in store.create_jobs([webhook_job(rule, "v2")])] == ["v2"]


def test_a_reads_busy_timeout_is_the_whole_limit_after_a_write_used_part_of_it(
    impatient: Store, rule: RuleRecord, url: str
) -> None:
    # A write leaves its connection's busy timeout at what was left of its limit;
    impatient.create_jobs([webhook_job(rule, "v1")])
    # the next transaction on that connection waits the whole limit again.
    with impatient._read() as conn:
        busy_ms = conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one()
    assert busy_ms == 1000


def test_the_receivers_wait_limit_is_a_setting_that_fits_a_two_second_deadline() -> None:
    assert load_settings(environ={}).store_wait_seconds == 1.5
    assert load_settings(
        environ={"CROSSDOCK_STORE_WAIT_SECONDS": "0.5"}).store_wait_seconds == 0.5
    with pytest.raises(ConfigurationError, match="store_wait_seconds"):
        load_settings(environ={"CROSSDOCK_STORE_WAIT_SECONDS": "0"})
