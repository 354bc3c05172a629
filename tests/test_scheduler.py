"""Scheduled resyncs: when a run is due, and exactly one scheduler acting."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pika
import pytest

from receiver.metrics import ReceiverMetrics
from receiver.scheduler import Scheduler, due
from shared.broker import Publisher
from shared.messages import JobMessage, decode
from shared.queues import work_queue
from shared.settings import Settings
from shared.store import (
    SCHEDULER_LEASE_KEY,
    NewJob,
    RuleRecord,
    Store,
    generate_secret_key,
    open_store,
)
from tests.support.settings import AMQP_URL, delete_endpoint_queues, pipeline_settings

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


# The sweeper: jobs whose publish was lost are published again ---------------------------


@pytest.fixture
def broker_settings(tmp_path: Path) -> Settings:
    return pipeline_settings(tmp_path)


@pytest.fixture
def publisher(broker_settings: Settings) -> Iterator[Publisher]:
    """A real publisher under the test's own queue prefix; its queues deleted after."""
    real = Publisher(broker_settings, name="test-sweeper")
    yield real
    real.close()
    delete_endpoint_queues(broker_settings, ["sweep-ep"])


def test_the_sweeper_publishes_again_a_pending_job_never_queued(
    store: Store, clock: Clock, broker_settings: Settings, publisher: Publisher
) -> None:
    # Given a receiver killed between recording a job and publishing it, a job that
    # was queued, and a job recorded a moment ago (its publish may be under way),
    source = store.create_source(name="s", kind="distribution", url="http://a:5000")
    endpoint = store.create_endpoint(name="sweep-ep", kind="registry", url="http://b:5000")
    rule = store.create_rule(name="r", source_id=source.id, endpoint_id=endpoint.id,
                             project="lib")
    lost, queued = store.create_jobs([_job(rule, "lost"), _job(rule, "queued")])
    store.mark_queued([queued.id])
    clock.now += timedelta(minutes=5)
    [young] = store.create_jobs([_job(rule, "young")])
    metrics = ReceiverMetrics()
    scheduler = Scheduler(store, publisher.publish_jobs, clock=clock, metrics=metrics)

    # when the lease holder's round runs,
    scheduler.tick()

    # then the lost job, and only it, is in the work queue and marked queued;
    queue = work_queue(broker_settings.queue_prefix, endpoint.name)
    assert [message.job_id for message in _take(queue)] == [lost.id]
    assert store.get_job(lost.id).queued_at == clock.now
    assert store.get_job(young.id).queued_at is None
    assert metrics.registry.get_sample_value("crossdock_receiver_jobs_republished_total") == 1
    # a second round finds nothing left to do.
    scheduler.tick()
    assert _take(queue) == []


def test_only_the_lease_holder_sweeps(store: Store, clock: Clock) -> None:
    source = store.create_source(name="s", kind="distribution", url="http://a:5000")
    endpoint = store.create_endpoint(name="e", kind="registry", url="http://b:5000")
    rule = store.create_rule(name="r", source_id=source.id, endpoint_id=endpoint.id,
                             project="lib")
    [lost] = store.create_jobs([_job(rule, "lost")])
    clock.now += timedelta(minutes=5)
    assert store.try_acquire_lease(SCHEDULER_LEASE_KEY, "another receiver", 60)
    published: list[JobMessage] = []
    scheduler = Scheduler(store, published.extend, clock=clock)

    scheduler.tick()
    assert published == []
    clock.now += timedelta(seconds=61)  # the other receiver is gone
    scheduler.tick()
    assert [message.job_id for message in published] == [lost.id]


def _job(rule: RuleRecord, tag: str) -> NewJob:
    return NewJob(rule_id=rule.id, endpoint_id=rule.endpoint_id, source_id=rule.source_id,
                  repository="lib/app", tag=tag, action="replicate")


def _take(queue: str) -> list[JobMessage]:
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        channel = connection.channel()
        taken = []
        while True:
            method, _properties, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                return taken
            taken.append(decode(body))
    finally:
        connection.close()
