"""Several broker addresses in `amqp_url`: publishers and consumers use whichever
node takes them, trying a node that failed recently last."""

from __future__ import annotations

import socket
import time

import pytest
from structlog.testing import capture_logs

from shared.broker import Ack, Publisher, Worker
from shared.broker import connection as broker_connection
from shared.broker.nodes import NodeList, reconnect_delay
from shared.messages import decode
from tests.support.tcp_proxy import TcpProxy


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_dead_first_node_is_skipped_for_the_next_one(broker, monkeypatch) -> None:
    endpoint = broker.endpoint()
    dead = f"amqp://guest:guest@127.0.0.1:{closed_port()}/%2F?heartbeat=1"
    urls = f"{dead},{broker.amqp_url}?heartbeat=1"
    settings = broker.settings((endpoint,), amqp_url=urls)
    # This process's order: the dead node first (normally a random order).
    nodes = NodeList(urls.split(","), shuffle=lambda order: None)
    monkeypatch.setitem(broker_connection._node_lists, urls, nodes)
    handler = broker.recorder(Ack())
    worker = Worker(settings, handler, [endpoint])
    publisher = Publisher(settings)

    try:
        with broker.running(worker):
            publisher.publish_jobs([broker.job(endpoint, job_id=7)])
            _at, delivery = handler.next(timeout=10)
    finally:
        publisher.close()

    assert decode(delivery.body).job_id == 7
    assert nodes.order()[-1] == dead  # remembered as failed: tried last for a while


def test_nodes_that_failed_recently_are_tried_last_oldest_failure_first() -> None:
    now = [100.0]
    nodes = NodeList(["a", "b", "c"], shuffle=lambda order: None, clock=lambda: now[0],
                     forget_after=30)
    nodes.failed("a")
    now[0] += 1
    nodes.failed("b")
    assert nodes.order() == ["c", "a", "b"]
    nodes.succeeded("a")
    assert nodes.order() == ["a", "c", "b"]
    now[0] += 30
    assert nodes.order() == ["a", "b", "c"]  # forgotten


def test_each_process_has_its_own_order_of_the_nodes() -> None:
    urls = [f"amqp://n{i}" for i in range(8)]
    orders = {tuple(NodeList(urls).order()) for _ in range(20)}
    assert len(orders) > 1
    assert all(sorted(order) == urls for order in orders)


# The proxy's cut drops pika's sockets mid-stream; see test_broker_outage.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_stop_interrupts_reconnect_attempts_after_the_broker_went_away(broker) -> None:
    proxy = TcpProxy(("127.0.0.1", 5672)).start()
    endpoint = broker.endpoint()
    settings = broker.settings(
        (endpoint,), amqp_url=f"amqp://guest:guest@127.0.0.1:{proxy.port}/%2F?heartbeat=1")
    handler = broker.recorder(Ack())
    worker = Worker(settings, handler, [endpoint])
    try:
        with capture_logs() as logs, broker.running(worker, join_timeout=3):
            broker.wait_for(lambda: any(e["event"] == "consuming" for e in logs), 10, "consuming")

            def reconnect_failed() -> bool:
                proxy.cut()  # again: one reconnect may slip through the closing listener
                return sum(e["event"] == "broker connection lost, reconnecting"
                           for e in logs) >= 2

            broker.wait_for(reconnect_failed, 10, "a failed reconnect")
            started = time.monotonic()
        assert time.monotonic() - started < 3
    finally:
        proxy.cut()


def test_the_reconnect_delay_starts_within_a_second_and_is_capped() -> None:
    highest = lambda low, high: high  # noqa: E731 - the ceiling of the jitter
    assert [reconnect_delay(n, uniform=highest) for n in (1, 2, 3, 4, 10)] == [1, 2, 4, 5, 5]
    assert all(0 <= reconnect_delay(n) <= 5 for n in range(1, 50))
