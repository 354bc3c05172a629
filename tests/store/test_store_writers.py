"""SQLite writers take turns (`shared.store.writers.WriterTurns`): threads of a process
on a lock, processes on a file lock, before SQLite's own write lock."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.store import (
    JobAction,
    NewJob,
    RuleRecord,
    Store,
    StoreUnavailableError,
    generate_secret_key,
    open_store,
)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "crossdock.db"


@pytest.fixture
def sqlite_store(database: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{database}", generate_secret_key())
    yield store
    store.close()


@pytest.fixture
def impatient_store(database: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{database}", generate_secret_key(), wait_seconds=0.2)
    yield store
    store.close()


def make_rule(store: Store) -> RuleRecord:
    source = store.create_source(name="a", kind="distribution", url="http://a:5000")
    endpoint = store.create_endpoint(name="b", kind="registry", url="http://b:5000")
    return store.create_rule(name="a-to-b", source_id=source.id, project="team",
                             endpoint_id=endpoint.id)


def spec(rule: RuleRecord, tag: str) -> NewJob:
    return NewJob(rule_id=rule.id, endpoint_id=rule.endpoint_id, source_id=rule.source_id,
                  repository="team/app", action=JobAction.REPLICATE, tag=tag)


def _write_jobs(url: str, key: str, rule: RuleRecord, prefix: str, count: int) -> None:
    """In a child process: four threads record `count` jobs each, one per call."""
    store = open_store(url, key, create_tables=False)
    errors: list[BaseException] = []

    def write(thread: int) -> None:
        try:
            for n in range(count):
                store.create_jobs([spec(rule, f"{prefix}-{thread}-{n}")])
        except BaseException as exc:  # reported through the exit code
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.close()
    if errors:
        raise SystemExit(f"{len(errors)} writer(s) failed: {errors[0]!r}")


def test_writers_of_several_processes_and_threads_all_get_their_turn(database: Path) -> None:
    # Given a SQLite store and three processes of four writing threads each,
    url, key = f"sqlite:///{database}", generate_secret_key()
    with open_store(url, key) as store:
        rule = make_rule(store)
    context = multiprocessing.get_context("spawn")
    children = [context.Process(target=_write_jobs, args=(url, key, rule, f"p{p}", 25))
                for p in range(3)]

    # when they all record jobs at once,
    for child in children:
        child.start()
    for child in children:
        child.join(120)

    # then every write went through, once, and the turns were queued on the lock file.
    assert [child.exitcode for child in children] == [0, 0, 0]
    with open_store(url, key) as store:
        tags = {job.tag for job in store.list_jobs(limit=1000)}
    assert len(tags) == 3 * 4 * 25
    assert Path(f"{database}-writers").exists()


def test_a_turn_excludes_the_writers_of_other_processes(
    sqlite_store: Store, database: Path
) -> None:
    make_rule(sqlite_store)  # a first write opens the lock file
    assert sqlite_store._writers is not None
    # While this process holds its turn, another process cannot take the file lock;
    with sqlite_store._writers.turn():
        assert _other_process_can_lock(f"{database}-writers") is False
    # once the turn is over, it can.
    assert _other_process_can_lock(f"{database}-writers") is True


def _try_lock(path: str, answer: multiprocessing.queues.Queue[bool]) -> None:
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        answer.put(False)
    else:
        answer.put(True)
    finally:
        os.close(fd)


def _other_process_can_lock(path: str) -> bool:
    context = multiprocessing.get_context("spawn")
    answer: multiprocessing.queues.Queue[bool] = context.Queue()
    child = context.Process(target=_try_lock, args=(path, answer))
    child.start()
    child.join(60)
    result: bool = answer.get(timeout=5)
    return result


def test_a_thread_that_gets_no_turn_in_time_is_told_the_store_is_unavailable(
    impatient_store: Store,
) -> None:
    sqlite_store = impatient_store  # waits 0.2 s
    rule = make_rule(sqlite_store)
    assert sqlite_store._writers is not None
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with sqlite_store._writers.turn():  # type: ignore[union-attr]
            holding.set()
            release.wait(10)

    # Given another thread of this process holding the turn (a write that never ends),
    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(5)
        # a write here gives up after the timeout, as a transient error (the receiver: 503),
        with pytest.raises(StoreUnavailableError, match="no turn to write"):
            sqlite_store.create_jobs([spec(rule, "v1")])
    finally:
        release.set()
        holder.join(5)
    # and goes through once the turn is free again.
    assert [job.tag for job in sqlite_store.create_jobs([spec(rule, "v2")])] == ["v2"]


def test_a_write_lock_held_outside_crossdock_is_waited_for_then_reported_unavailable(
    database: Path,
) -> None:
    # Given a store whose connections wait one second for SQLite's write lock,
    with open_store(f"sqlite:///{database}", generate_secret_key(), wait_seconds=1) as store:
        rule = make_rule(store)
        # and another program holding that lock (it does not queue for turns),
        other = sqlite3.connect(database, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            # BEGIN IMMEDIATE fails as a transient error, not as a driver error;
            with pytest.raises(StoreUnavailableError, match="database is locked"):
                store.create_jobs([spec(rule, "v1")])
        finally:
            other.execute("ROLLBACK")
            other.close()
        # the failed write left no half-begun state behind.
        assert [job.tag for job in store.create_jobs([spec(rule, "v2")])] == ["v2"]
        assert [job.tag for job in store.list_jobs()] == ["v2"]


def test_an_in_memory_database_has_no_lock_file(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite://", generate_secret_key())
    try:
        assert store._writers is not None
        with store._writers.turn():
            pass
        assert list(tmp_path.iterdir()) == []
    finally:
        store.close()
