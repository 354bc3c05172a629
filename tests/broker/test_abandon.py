"""A run that stops without an outcome (`Abandon`, DESIGN invariant 4): requeued for a
new run on a live connection; and `Delivery.connection_alive` tells a handler that
the connection its message came on has closed."""

from __future__ import annotations

import threading
import uuid

from shared.broker import Ack, Delivery, Outcome, Publisher, Worker
from shared.broker.delivery import Abandon
from shared.queues import failed_queue, retry_queue, work_queue


def publish(settings, *jobs) -> None:
    publisher = Publisher(settings)
    try:
        publisher.publish_jobs(list(jobs))
    finally:
        publisher.close()


def test_an_abandoned_run_on_a_live_connection_is_requeued_for_a_new_run(broker) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,))
    publish(settings, broker.job(endpoint))
    handler = broker.recorder(Abandon("lease lost: the store was unreachable"), Ack())

    with broker.running(Worker(settings, handler, [endpoint])):
        _at, first = handler.next()
        _at, second = handler.next()
        broker.wait_for(lambda: broker.depth(first.queue) == 0, what="the ack")

    # The same attempt runs again: nothing was retried, deferred or parked
    assert (first.attempt, first.redelivered) == (1, False)
    assert (second.attempt, second.redelivered) == (1, True)
    prefix = settings.queue_prefix
    for queue in (retry_queue(prefix, endpoint, 1), retry_queue(prefix, endpoint, 2),
                  failed_queue(prefix, endpoint), work_queue(prefix, endpoint)):
        assert broker.depth(queue) == 0, queue


def test_a_handler_learns_that_its_connection_closed(broker) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,))
    publish(settings, broker.job(endpoint))
    seen: list[Delivery] = []
    release = threading.Event()

    def handler(delivery: Delivery) -> Outcome:
        seen.append(delivery)
        if len(seen) == 1:
            release.wait(20)
        return Ack()

    name = f"abandon-test-{uuid.uuid4().hex[:8]}"
    with broker.running(Worker(settings, handler, [endpoint], name=name)):
        broker.wait_for(lambda: len(seen) == 1, what="the delivery")
        assert seen[0].connection_alive()
        assert broker.close_connections(name) == 1
        broker.wait_for(lambda: not seen[0].connection_alive(), timeout=10,
                        what="the handler to see its connection closed")
        release.set()  # its Ack can't be sent: the broker redelivers on the new connection
        broker.wait_for(lambda: len(seen) == 2, timeout=15, what="the redelivery")
        assert seen[1].redelivered
        assert seen[1].connection_alive()
