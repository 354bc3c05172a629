"""A consumer whose RabbitMQ node freezes (SIGSTOP: TCP still accepted, nothing said)
notices the missed heartbeats, keeps retrying, and consumes again once the node
resumes. On a private node: the shared broker is never frozen."""

from __future__ import annotations

import uuid

import pytest
from structlog.testing import capture_logs

from shared.broker import Ack, Publisher, Worker
from shared.messages import decode
from shared.settings import Settings
from tests.support.rabbit_node import RabbitNode

LOST = "broker connection lost, reconnecting"


@pytest.fixture
def node(rabbit_node: RabbitNode) -> RabbitNode:
    """The session's private node (shared with the other single-node fault tests)."""
    return rabbit_node


def publish(settings: Settings, job: object) -> None:
    publisher = Publisher(settings, name="frozen-node-test")
    try:
        publisher.publish_jobs([job])  # type: ignore[list-item]
    finally:
        publisher.close()


# Connections to the frozen node are abandoned mid-stream; pika leaves their sockets
# to the garbage collector.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_consumer_outlives_a_frozen_node_and_consumes_after_it_resumes(
    node: RabbitNode, broker
) -> None:
    endpoint = f"frozen-{uuid.uuid4().hex[:6]}"
    settings = Settings(amqp_url=node.url("heartbeat=1"), queue_prefix="crossdock-frozen",
                        consumer_concurrency=1)
    handler = broker.recorder(Ack())
    worker = Worker(settings, handler, [endpoint])

    with capture_logs() as logs, broker.running(worker) as thread:
        publish(settings, broker.job(endpoint, job_id=1))
        handler.next(timeout=10)
        node.freeze()
        try:
            # Heartbeats missed (pika checks every heartbeat + 5 s), then at least one
            # reconnect to the frozen node timed out: the old code died right there.
            broker.wait_for(
                lambda: not thread.is_alive() or sum(e["event"] == LOST for e in logs) >= 2,
                30, "the lost connection and a failed reconnect")
        finally:
            node.resume()
        assert thread.is_alive(), [e for e in logs if e["log_level"] != "info"]

        publish(settings, broker.job(endpoint, job_id=2))
        _at, delivery = handler.next(timeout=20)

    assert decode(delivery.body).job_id == 2
