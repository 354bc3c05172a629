"""Publishing while a quorum queue elects a new leader (RabbitMQ 3.10).

A channel whose first publish to a quorum queue comes while the queue has no
leader (the 0.1-0.3 s after the leader's node died) is nacked, and stays nacked for
good, even once a new leader has been elected; a new channel is not. Seen in the
cluster test: one receiver answered 503 to every webhook until its connection
happened to be replaced. The publisher must publish again on a new channel."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import pika
import pytest

from shared.broker import Publisher
from shared.settings import Settings
from tests.support.rabbit_cluster import RabbitCluster

pytestmark = pytest.mark.rabbit_cluster


def test_a_publish_nacked_during_a_leader_election_goes_out_on_a_new_channel(
    rabbit_cluster: RabbitCluster, tmp_path: Path
) -> None:
    queue = f"crossdock-test-election-{uuid.uuid4().hex[:8]}"
    leader = rabbit_cluster.nodes[0]
    follower = rabbit_cluster.nodes[1]
    declaring = pika.BlockingConnection(pika.URLParameters(leader.url()))
    declaring.channel().queue_declare(queue, durable=True,
                                      arguments={"x-queue-type": "quorum"})
    declaring.close()
    assert rabbit_cluster.leader_of(queue) is leader  # declared through it: it leads
    publisher = Publisher(Settings(amqp_url=follower.url("heartbeat=2")), name="election")
    try:
        assert leader.pid is not None
        os.kill(leader.pid, signal.SIGKILL)  # no waiting: publish during the election
        publisher.publish(queue, b"during the election", deadline=_in(10))
        publisher.publish(queue, b"after it", deadline=_in(10))
    finally:
        publisher.close()
        rabbit_cluster.kill(leader)  # waits until it is gone
        rabbit_cluster.restart(leader)
    draining = pika.BlockingConnection(pika.URLParameters(follower.url()))
    channel = draining.channel()
    bodies = []
    while (message := channel.basic_get(queue, auto_ack=True))[0] is not None:
        bodies.append(message[2])
    channel.queue_delete(queue)
    draining.close()
    assert bodies == [b"during the election", b"after it"]


def _in(seconds: float) -> float:
    return time.monotonic() + seconds
