"""Endpoints deleted, or their queues deleted by hand, while a consumer runs: the
consumer follows the store, and never declares a deleted endpoint's queues again."""

from __future__ import annotations

import pika

from shared.broker import delete_topology, endpoint_topology
from shared.queues import work_queue
from tests.consumers.conftest import Pipeline, wait_until
from tests.support.registry_server import RegistryServer
from tests.support.settings import AMQP_URL


def queue_state(name: str) -> tuple[int, int] | None:
    """(messages, consumers) of a queue, or None when it does not exist."""
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        declared = connection.channel().queue_declare(name, passive=True).method
        return int(declared.message_count), int(declared.consumer_count)
    except pika.exceptions.ChannelClosedByBroker:
        return None
    finally:
        connection.close()


def test_an_endpoint_deleted_with_its_queues_is_let_go_for_good(
    pipeline: Pipeline, registry2: RegistryServer
) -> None:
    endpoint = pipeline.endpoint(registry2)
    service = pipeline.start_consumer()
    work = work_queue(pipeline.settings.queue_prefix, endpoint.name)
    wait_until(lambda: queue_state(work) == (0, 1), what="the endpoint consumed")

    # When it is deleted as DELETE /endpoints/<name> does: the record, then the queues
    delays = pipeline.store.queue_delays()
    delete_topology(pipeline.settings, endpoint.name, retry_delays=delays.retry,
                    defer_seconds=delays.defer,
                    before_delete=lambda: pipeline.store.delete_endpoint(endpoint.id))

    # then the consumer lets it go, and its queues are not declared again
    wait_until(lambda: endpoint.name not in service.worker.endpoints, what="it let go")
    service.stop()
    for _service, thread in pipeline.services:
        thread.join(30)
    assert [spec.name for spec in endpoint_topology(pipeline.settings, endpoint.name)
            if queue_state(spec.name) is not None] == []


def test_an_endpoint_deleted_from_the_store_is_no_longer_consumed(
    pipeline: Pipeline, registry2: RegistryServer
) -> None:
    endpoint = pipeline.endpoint(registry2)
    service = pipeline.start_consumer()
    work = work_queue(pipeline.settings.queue_prefix, endpoint.name)
    wait_until(lambda: queue_state(work) == (0, 1), what="the endpoint consumed")

    pipeline.store.delete_endpoint(endpoint.id)

    wait_until(lambda: queue_state(work) == (0, 0), what="its consumer cancelled")
    assert endpoint.name not in service.worker.endpoints


def test_a_work_queue_deleted_by_hand_is_declared_and_consumed_again(
    pipeline: Pipeline, registry2: RegistryServer
) -> None:
    endpoint = pipeline.endpoint(registry2)
    pipeline.start_consumer()
    work = work_queue(pipeline.settings.queue_prefix, endpoint.name)
    wait_until(lambda: queue_state(work) == (0, 1), what="the endpoint consumed")

    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    connection.channel().queue_delete(work)
    connection.close()

    # The store still has the endpoint: the consumer takes it up again.
    wait_until(lambda: queue_state(work) == (0, 1), what="the endpoint consumed again")
