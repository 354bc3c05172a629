"""`JobLogs`: a job's log lines cost no store write of their own, come in the order
said, with the time said, and never after the state change that follows them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from consumers.joblog import JobLogs
from shared.store import (
    JobStatus,
    NewJob,
    Store,
    StoreUnavailableError,
    generate_secret_key,
    open_store,
)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class FlakyStore:
    """A store whose batched log writes fail while `down`."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.down = False

    def append_logs(self, lines: Any) -> None:
        if self.down:
            raise StoreUnavailableError("store unreachable: connection refused")
        self._store.append_logs(lines)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'logs.db'}", generate_secret_key(), clock=clock)
    yield opened
    opened.close()


def writes_to(store: Store) -> list[int]:
    """A list that grows by one for each write transaction the store begins."""
    seen: list[int] = []

    def on_begin(conn: Any) -> None:
        if conn.get_execution_options().get("crossdock_write"):
            seen.append(1)

    event.listen(store._engine, "begin", on_begin)
    return seen


def jobs(store: Store, count: int) -> list[int]:
    source = store.create_source(name="src", kind="distribution", url="http://src.example")
    endpoint = store.create_endpoint(name="ep", kind="registry", url="http://ep.example")
    rule = store.create_rule(name="rule", source_id=source.id, endpoint_id=endpoint.id,
                             project="lib")
    return [job.id for job in store.create_jobs([
        NewJob(rule_id=rule.id, endpoint_id=endpoint.id, source_id=source.id,
               repository="lib/app", tag=f"v{i}", action="replicate") for i in range(count)])]


def logs(store: Any) -> JobLogs:
    """Logs whose writer thread never runs by itself: the test calls `flush`."""
    stopped = threading.Event()
    stopped.set()
    return JobLogs(store, stopped, interval=3600)


def test_lines_wait_for_the_runs_next_state_change_and_go_first_in_its_transaction(
    store: Store, clock: Clock
) -> None:
    [job_id] = jobs(store, 1)
    job_logs = logs(store)
    run = job_logs.open(job_id)
    writes = writes_to(store)
    said = clock.now

    for blob in range(5):
        run("info", f"blob {blob} uploaded")
    clock.now += timedelta(seconds=3)
    assert store.job_log(job_id) == [] and writes == []  # nothing written per line
    run("info", "done")
    with job_logs.writing(run) as lines:
        store.mark_finished(job_id, JobStatus.SUCCEEDED, lines=lines)

    written = store.job_log(job_id)
    assert [line.message for line in written] == [*(f"blob {b} uploaded" for b in range(5)),
                                                  "done"]
    assert written[0].at == said and written[-1].at == clock.now
    assert len(writes) == 1  # the state change and its lines: one transaction
    job_logs.close(run)
    assert len(writes) == 1  # nothing left to write


def test_the_writer_writes_every_runs_lines_in_one_transaction(store: Store) -> None:
    first, second = jobs(store, 2)
    job_logs = logs(store)
    runs = [job_logs.open(first), job_logs.open(second)]
    writes = writes_to(store)
    runs[0]("info", "copying")
    runs[1]("warning", "waiting")
    runs[0]("info", "blob uploaded")

    job_logs.flush()

    assert len(writes) == 1
    assert [line.message for line in store.job_log(first)] == ["copying", "blob uploaded"]
    assert [line.message for line in store.job_log(second)] == ["waiting"]
    job_logs.flush()
    assert len(writes) == 1  # nothing pending: no write


def test_lines_whose_write_failed_are_written_next_time_in_order(store: Store) -> None:
    [job_id] = jobs(store, 1)
    flaky = FlakyStore(store)
    job_logs = logs(flaky)
    run = job_logs.open(job_id)
    run("info", "copying")
    flaky.down = True

    job_logs.flush()  # logged, not raised
    run("info", "done")
    flaky.down = False
    job_logs.close(run)

    assert [line.message for line in store.job_log(job_id)] == ["copying", "done"]


def test_a_failed_state_change_keeps_its_lines(store: Store) -> None:
    [job_id] = jobs(store, 1)
    job_logs = logs(store)
    run = job_logs.open(job_id)
    run("error", "failed: digest mismatch")

    with pytest.raises(ValueError), job_logs.writing(run) as lines:
        store.mark_finished(job_id, JobStatus.RUNNING, lines=lines)  # not a final status
    job_logs.close(run)

    assert [line.message for line in store.job_log(job_id)] == ["failed: digest mismatch"]
