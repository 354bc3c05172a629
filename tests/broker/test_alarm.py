"""A broker that blocks publishers (memory alarm) or freezes (SIGSTOP): a publish ends
by its deadline, a publisher that knows it is blocked refuses at once, and ``/readyz``
says so within its own deadline. On one private node: the shared broker is never
alarmed or frozen."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pika
import pytest

from receiver.app import create_app
from shared.broker import (
    BrokerBlockedError,
    BrokerUnavailableError,
    Publisher,
    PublishTimeoutError,
)
from shared.messages import decode
from shared.queues import work_queue
from shared.settings import Settings
from shared.store import open_store
from tests.support.rabbit_node import RabbitNode
from tests.support.settings import pipeline_settings


@pytest.fixture
def node(rabbit_node: RabbitNode) -> RabbitNode:
    """The session's private node (shared with the other single-node fault tests)."""
    return rabbit_node


@pytest.fixture
def settings(node: RabbitNode, tmp_path: Path) -> Settings:
    return pipeline_settings(tmp_path, amqp_url=node.url("heartbeat=1"),
                             queue_prefix=f"crossdock-alarm-{uuid.uuid4().hex[:6]}")


def alarms(node: RabbitNode) -> str:
    return node.ctl("eval", "rabbit_alarm:get_alarms().")


def set_alarm(node: RabbitNode, on: bool, broker) -> None:
    node.ctl("set_vm_memory_high_watermark", "0" if on else "0.4")
    broker.wait_for(lambda: ("memory" in alarms(node)) == on, 15,
                    f"the memory alarm to be {'on' if on else 'off'}")


@contextmanager
def broker_alarm(node: RabbitNode, broker) -> Iterator[None]:
    """The node's memory alarm on inside the block, off (and seen off) after it."""
    set_alarm(node, True, broker)
    try:
        yield
    finally:
        set_alarm(node, False, broker)


@pytest.fixture
def publisher(settings: Settings) -> Iterator[Publisher]:
    opened = Publisher(settings, name=f"alarm-test-{uuid.uuid4().hex[:6]}")
    yield opened
    opened.close()


def test_an_alarm_ends_a_publish_by_its_deadline_then_refuses_at_once_until_it_clears(
    node: RabbitNode, settings: Settings, publisher: Publisher, broker
) -> None:
    endpoint = broker.endpoint()
    publisher.ensure_endpoint(endpoint)

    with broker_alarm(node, broker):
        started = time.monotonic()
        with pytest.raises((BrokerBlockedError, PublishTimeoutError)):
            publisher.publish_jobs([broker.job(endpoint, job_id=1)], deadline=started + 2)
        assert time.monotonic() - started < 3.5
        assert publisher.blocked

        started = time.monotonic()
        with pytest.raises(BrokerBlockedError, match="alarm"):
            publisher.publish_jobs([broker.job(endpoint, job_id=2)],
                                   deadline=time.monotonic() + 2)
        assert time.monotonic() - started < 0.5  # refused, not waited for

    broker.wait_for(lambda: not publisher.blocked, 15, "the publisher to hear the unblock")
    publisher.publish_jobs([broker.job(endpoint, job_id=3)], deadline=time.monotonic() + 5)
    assert not publisher.blocked
    queue = work_queue(settings.queue_prefix, endpoint)
    ids = [decode(body).job_id for body in drain(node, queue)]
    assert 3 in ids and 2 not in ids  # job 1 went out before the block: it may be there


def test_readyz_is_503_within_its_deadline_during_an_alarm_and_200_after(
    node: RabbitNode, settings: Settings, publisher: Publisher, broker
) -> None:
    store = open_store(settings)
    app = create_app(settings, store=store, publisher=publisher)
    try:
        assert app.test_client().get("/readyz").status_code == 200
        with broker_alarm(node, broker):
            started = time.monotonic()
            response = app.test_client().get("/readyz")
            took = time.monotonic() - started
            body = response.get_json()
            assert response.status_code == 503, body
            assert took < 2.5  # the deadline is 1 s
            assert [n["status"] for n in body["nodes"]] == ["blocked"]
            assert body["checks"]["store"] == "ok"

        broker.wait_for(lambda: app.test_client().get("/readyz").status_code == 200, 15,
                        "readyz to be ready again")
    finally:
        store.close()
    assert "readyz" not in node.ctl("list_queues", "name")  # the probes left nothing


def test_a_publish_to_a_frozen_node_times_out_by_its_deadline(
    node: RabbitNode, settings: Settings, publisher: Publisher, broker
) -> None:
    endpoint = broker.endpoint()
    publisher.publish_jobs([broker.job(endpoint, job_id=1)])  # connected
    node.freeze()
    try:
        started = time.monotonic()
        with pytest.raises(PublishTimeoutError, match="deadline"):
            publisher.publish_jobs([broker.job(endpoint, job_id=2)], deadline=started + 2)
        assert time.monotonic() - started < 3.5
    finally:
        node.resume()
    # A new connection carries the next publish.
    broker.wait_for(lambda: publishes(publisher, broker.job(endpoint, job_id=3)), 20,
                    "a publish after the node resumed")


def publishes(publisher: Publisher, job: object) -> bool:
    try:
        publisher.publish_jobs([job], deadline=time.monotonic() + 3)  # type: ignore[list-item]
    except BrokerUnavailableError:
        return False
    return True


def drain(node: RabbitNode, queue: str) -> list[bytes]:
    """Every message of `queue` on the private node (acked)."""
    connection = pika.BlockingConnection(pika.URLParameters(node.url()))
    try:
        channel = connection.channel()
        bodies = []
        while True:
            method, _properties, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                return bodies
            bodies.append(body)
    finally:
        connection.close()
