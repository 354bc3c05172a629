"""`receiver.services.queues`: each endpoint's work, retry, defer and failed queue
depths, counted on the real RabbitMQ and served from memory."""

from __future__ import annotations

from collections.abc import Iterator

import pika
import pytest

from receiver.api.schemas import endpoint_create
from receiver.services import Services, endpoints, queues
from receiver.services.queues import (
    EndpointQueues,
    QueueDepth,
    endpoint_queue_depths,
    endpoint_queues,
    management_path,
    vhost_of,
)
from shared.broker import QueueCount, declare_topology, endpoint_queue_names
from shared.queues import defer_queue, failed_queue, retry_queue, work_queue
from shared.settings import Settings
from shared.store import QueueDelays, Store
from tests.receiver.conftest import Records, wait_until
from tests.support.settings import AMQP_URL, delete_queues

UNREACHABLE = "amqp://guest:guest@127.0.0.1:1/%2F"


# Pure -------------------------------------------------------------------------------


def test_the_queues_of_the_current_delays_and_the_earlier_ones_that_exist() -> None:
    settings = Settings(queue_prefix="cd", retry_delays=(30, 120), defer_seconds=2)
    delays = QueueDelays(retry=(30, 120, 600), defer=(2, 5))
    counts = {"cd.endpoint.m.work": QueueCount(4, 2), "cd.endpoint.m.retry.10m": QueueCount(1, 0),
              "cd.endpoint.m.retry.30s": QueueCount(2, 0)}

    found = endpoint_queue_depths(settings, "m", delays, counts)

    assert found == EndpointQueues(
        "m", QueueDepth("cd.endpoint.m.work", 4, 2),
        (QueueDepth("cd.endpoint.m.retry.30s", 2, 0), QueueDepth("cd.endpoint.m.retry.2m", None,
                                                                 None),
         QueueDepth("cd.endpoint.m.retry.10m", 1, 0)),
        (QueueDepth("cd.endpoint.m.defer.2s", None, None),),  # defer.5s is gone
        QueueDepth("cd.endpoint.m.failed", None, None))
    assert found.retry_messages == 3


@pytest.mark.parametrize(("url", "vhost"), [
    ("amqp://guest:guest@127.0.0.1:5672/%2F", "/"), ("amqp://h", "/"), ("amqp://h/", "/"),
    ("amqps://u:p@h:5671/prod?heartbeat=10", "prod"),
    ("amqp://a/team%2Fone,amqp://b/team%2Fone", "team/one"),
])
def test_the_virtual_host_of_the_first_node(url: str, vhost: str) -> None:
    assert vhost_of(url) == vhost


def test_a_queues_page_in_the_management_console() -> None:
    assert management_path("/", "crossdock.endpoint.harbor%2Eeu.work") == (
        "#/queues/%2F/crossdock.endpoint.harbor%252Eeu.work")


# RabbitMQ ----------------------------------------------------------------------------


@pytest.fixture
def counted(found: Services, store: Store) -> Iterator[Services]:
    """`found`, with retry delays long enough that nothing moves while it is counted;
    the queues the test declares are deleted afterwards."""
    found.settings = found.settings.replace(retry_delays=(300,), defer_seconds=60)
    found.queues = queues.new_cache(found.settings, store)
    yield found
    delays = store.queue_delays()
    delete_queues(name for endpoint in store.list_endpoints()
                  for name in endpoint_queue_names(found.settings, endpoint.name,
                                                   delays.retry, delays.defer))


def publish(queue: str, count: int) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        channel = connection.channel()
        for _ in range(count):
            channel.basic_publish("", queue, b"{}")
    finally:
        connection.close()


def declare(settings: Settings, endpoint: str) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        declare_topology(connection, settings, endpoint)
        # A retry queue of an earlier retry_delays value, with messages left in it.
        earlier = retry_queue(settings.queue_prefix, endpoint, 120)
        connection.channel().queue_declare(earlier, durable=True, arguments={
            "x-queue-type": settings.queue_type, "x-message-ttl": 120_000,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": work_queue(settings.queue_prefix, endpoint)})
    finally:
        connection.close()


def test_every_endpoint_with_its_queue_depths(counted: Services, records: Records) -> None:
    settings, prefix = counted.settings, counted.settings.queue_prefix
    mirror, idle = records.endpoint(name="mirror"), records.endpoint(name="idle")
    declare(settings, mirror.name)
    publish(work_queue(prefix, "mirror"), 2)
    publish(retry_queue(prefix, "mirror", 300), 1)
    publish(retry_queue(prefix, "mirror", 120), 1)
    publish(failed_queue(prefix, "mirror"), 3)

    report = endpoint_queues(counted, wait=30)

    assert (report.error, report.vhost, sorted(report.queues)) == (None, "/", ["idle", "mirror"])
    shown = report.queues["mirror"]
    assert (shown.work.messages, shown.work.consumers, shown.failed.messages) == (2, 0, 3)
    assert [(q.name, q.messages) for q in shown.retry] == [
        (retry_queue(prefix, "mirror", 300), 1), (retry_queue(prefix, "mirror", 120), 1)]
    assert [(q.name, q.messages) for q in shown.defer] == [(defer_queue(prefix, "mirror", 60), 0)]
    assert shown.retry_messages == 2
    nothing = report.queues[idle.name]  # no queue declared yet
    assert (nothing.work.messages, nothing.failed.messages) == (None, None)
    assert report.checked_at is not None


def test_an_endpoint_created_since_is_counted_at_the_next_look(counted: Services) -> None:
    endpoints.create_endpoint(counted, endpoint_create.load(
        {"name": "first", "url": "http://first.test:5000"}))
    assert sorted(endpoint_queues(counted, wait=30).queues) == ["first"]

    endpoints.create_endpoint(counted, endpoint_create.load(
        {"name": "second", "url": "http://second.test:5000"}))
    wait_until(lambda: "second" in endpoint_queues(counted, wait=0).queues, 30,
               "the new endpoint to be counted")


def test_rabbitmq_unreachable_is_said_not_raised(counted: Services, records: Records) -> None:
    records.endpoint(name="mirror")
    counted.queues = queues.new_cache(counted.settings.replace(amqp_url=UNREACHABLE),
                                      counted.store)

    report = endpoint_queues(counted, wait=30)

    assert report.queues == {} and report.error is not None and "127.0.0.1:1" in report.error
