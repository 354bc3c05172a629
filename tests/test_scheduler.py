"""Scheduled resyncs: when a run is due, and exactly one scheduler acting."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from receiver.scheduler import Scheduler, due
from shared.messages import JobMessage
from shared.store import RuleRecord, Store, generate_secret_key, open_store

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def rule(**changes: object) -> RuleRecord:
    base = RuleRecord(
        id=1, name="r", description="", enabled=True, source_id=1, project="lib",
        endpoint_id=1, repo_filters=(), tag_filters=(), dest_namespace=None,
        replicate_deletes=True, override=True, copy_referrers=True, schedule="*/10 * * * *",
        prune=False, created_at=T0, updated_at=T0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_due_after_the_next_fire_time_since_the_last_run() -> None:
    assert not due(rule(), None, T0 + timedelta(minutes=9))
    assert due(rule(), None, T0 + timedelta(minutes=10))
    assert not due(rule(), T0 + timedelta(minutes=10), T0 + timedelta(minutes=19))
    assert due(rule(), T0 + timedelta(minutes=10), T0 + timedelta(minutes=21))


def test_not_due_without_schedule_or_when_disabled() -> None:
    later = T0 + timedelta(days=1)
    assert not due(rule(schedule=None), None, later)
    assert not due(rule(enabled=False), None, later)
    assert not due(rule(schedule="not cron"), None, later)


class Clock:
    """One fake time for the store and the schedulers."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'c.db'}", generate_secret_key(), clock=clock)
    yield opened
    opened.close()


def test_only_one_of_two_schedulers_starts_the_run(store: Store, clock: Clock) -> None:
    source = store.create_source(name="s", kind="distribution", url="http://a:5000")
    endpoint = store.create_endpoint(name=f"e{uuid.uuid4().hex[:4]}", kind="registry",
                                     url="http://b:5000")
    store.create_rule(name="r", source_id=source.id, endpoint_id=endpoint.id, project="lib",
                      schedule="*/5 * * * *")
    published: list[JobMessage] = []
    clock.now += timedelta(minutes=6)
    first = Scheduler(store, published.extend, clock=clock)
    second = Scheduler(store, published.extend, clock=clock)

    started = first.tick() + second.tick()
    again = first.tick() + second.tick()

    assert len(started) == 1
    assert again == []
    [execution] = store.list_executions()
    assert execution.trigger == "scheduled"
    assert [(m.action.value, m.repository) for m in published] == [("sync", "lib")]
    clock.now += timedelta(minutes=10)
    assert len(first.tick() + second.tick()) == 1
