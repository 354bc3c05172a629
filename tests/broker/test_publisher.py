"""Publishing with confirms against the real broker."""

from __future__ import annotations

import os
import threading
import time
import uuid

import pytest
from structlog.testing import capture_logs

from shared.broker import (
    ATTEMPT_HEADER,
    BrokerUnavailableError,
    OutgoingMessage,
    Publisher,
    PublishRejectedError,
)
from shared.messages import decode
from shared.queues import work_queue


def test_a_job_arrives_persistent_with_attempt_one_and_its_id(broker) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,))
    job = broker.job(endpoint, job_id=17)
    publisher = Publisher(settings)
    try:
        publisher.publish_jobs([job])
    finally:
        publisher.close()

    _method, properties, body = broker.get(work_queue(settings.queue_prefix, endpoint))
    assert decode(body) == job
    assert properties.delivery_mode == 2
    assert properties.headers[ATTEMPT_HEADER] == 1  # quorum queues add x-delivery-count
    assert properties.message_id == "17"
    assert properties.content_type == "application/json"


def test_a_batch_is_published_in_order(broker) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,))
    publisher = Publisher(settings)
    try:
        publisher.publish_jobs([broker.job(endpoint, job_id=n) for n in range(1, 6)])
    finally:
        publisher.close()

    queue = work_queue(settings.queue_prefix, endpoint)
    assert [decode(broker.get(queue)[2]).job_id for _ in range(5)] == [1, 2, 3, 4, 5]


def test_a_message_no_queue_takes_is_an_error_not_a_silent_drop(broker) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,))
    publisher = Publisher(settings)
    try:
        with pytest.raises(PublishRejectedError, match="no queue") as caught:
            publisher.publish(f"{settings.queue_prefix}.nowhere", b"x")
        assert caught.value.unroutable
        # The publisher is still usable.
        publisher.publish_jobs([broker.job(endpoint)])
    finally:
        publisher.close()
    assert broker.depth(work_queue(settings.queue_prefix, endpoint)) == 1


def test_a_deleted_queue_is_declared_again(broker) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,))
    queue = work_queue(settings.queue_prefix, endpoint)
    publisher = Publisher(settings)
    try:
        publisher.ensure_endpoint(endpoint)
        channel = broker.channel()
        channel.queue_delete(queue)
        channel.close()

        publisher.publish_jobs([broker.job(endpoint)])
    finally:
        publisher.close()
    assert broker.depth(queue) == 1


def test_publishing_resumes_after_the_broker_closed_the_connection(broker) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,))
    name = f"crossdock-test-publisher-{uuid.uuid4().hex[:8]}"
    publisher = Publisher(settings, name=name)
    try:
        publisher.publish_jobs([broker.job(endpoint, job_id=1)])
        assert broker.close_connections(name) == 1

        # Whether the publisher reads the broker's close frame or only sees the reset
        # depends on timing: either way the next publish goes through.
        publisher.publish_jobs([broker.job(endpoint, job_id=2)])
    finally:
        publisher.close()
    assert broker.depth(work_queue(settings.queue_prefix, endpoint)) == 2


def test_a_publisher_idle_past_the_heartbeat_reconnects(broker) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,))  # heartbeat=1: the broker drops it after ~2-3 s
    publisher = Publisher(settings)
    try:
        publisher.publish_jobs([broker.job(endpoint, job_id=1)])
        time.sleep(3.5)

        with capture_logs() as logs:
            publisher.publish_jobs([broker.job(endpoint, job_id=2)])
    finally:
        publisher.close()
    assert [entry["event"] for entry in logs] == ["broker connection failed, reconnecting"]
    assert broker.depth(work_queue(settings.queue_prefix, endpoint)) == 2


def test_threads_publish_on_their_own_connections(broker) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,))
    publisher = Publisher(settings)
    publisher.ensure_endpoint(endpoint)
    queue = work_queue(settings.queue_prefix, endpoint)
    errors: list[BaseException] = []

    def publish_some(first: int) -> None:
        try:
            batch = [OutgoingMessage(queue, b"%d" % n) for n in range(first, first + 20)]
            publisher.publish_many(batch)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=publish_some, args=(n * 100,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    publisher.close()
    assert not errors
    assert broker.depth(queue) == 80


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_connections_of_ended_threads_are_closed(broker) -> None:
    # A server that starts a thread per request (werkzeug's) publishes from a new
    # thread each time: the connections of the threads that ended must not pile up.
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,))
    publisher = Publisher(settings)
    publisher.ensure_endpoint(endpoint)
    queue = work_queue(settings.queue_prefix, endpoint)

    def publish_from_a_new_thread(n: int) -> None:
        thread = threading.Thread(target=publisher.publish, args=(queue, b"%d" % n))
        thread.start()
        thread.join(10)

    publish_from_a_new_thread(0)
    before = open_descriptors()
    for n in range(1, 31):
        publish_from_a_new_thread(n)
    grown = open_descriptors() - before
    publisher.close()

    assert broker.depth(queue) == 31
    assert grown < 10, f"{grown} more open descriptors after 30 threads"


def test_an_unreachable_broker_fails_fast_with_a_clear_message(broker) -> None:
    settings = broker.settings(amqp_url="amqp://guest:secret@127.0.0.1:1/%2F")
    publisher = Publisher(settings)
    started = time.monotonic()
    with pytest.raises(BrokerUnavailableError) as caught:
        publisher.publish("anything", b"x")
    assert time.monotonic() - started < 2
    message = str(caught.value)
    assert "cannot connect to RabbitMQ at amqp://guest@127.0.0.1:1/" in message
    assert "secret" not in message
