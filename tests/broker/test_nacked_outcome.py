"""A consumer whose retry publish is nacked publishes it again on a new channel.

RabbitMQ 3.10 nacks, for good, a channel whose first publish to a quorum queue came
while that queue had no leader (see tests/cluster/test_leader_election.py for the
real thing). Before, the consumer requeued the message and published its next
outcome on the same channel: nacked again, run again, for ever."""

from __future__ import annotations

from typing import Any

import pika.exceptions

from shared.broker import Retry, Worker
from shared.broker.delivery import Delivery
from shared.settings import Settings


class NackingChannel:
    """A confirm channel that nacks every publish (or takes them all)."""

    def __init__(self, nacks: bool) -> None:
        self.nacks = nacks
        self.published: list[str] = []
        self.closed = False

    def basic_publish(self, exchange: str, routing_key: str, *args: Any, **kwargs: Any) -> None:
        if self.nacks:
            raise pika.exceptions.NackError([])
        self.published.append(routing_key)

    def confirm_delivery(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


class FakeConnection:
    def __init__(self) -> None:
        self.opened: list[NackingChannel] = []

    def channel(self) -> NackingChannel:
        self.opened.append(NackingChannel(nacks=False))
        return self.opened[-1]


class ConsumingChannel:
    def __init__(self, connection: FakeConnection) -> None:
        self.connection = connection


def test_a_nacked_retry_publish_goes_out_on_a_new_channel() -> None:
    settings = Settings(retry_delays=(1, 2), max_attempts=3)
    worker = Worker(settings, lambda delivery: Retry("boom"), ["ep"])
    connection = FakeConnection()
    stuck = NackingChannel(nacks=True)
    worker._channel = ConsumingChannel(connection)
    worker._confirm_channel = stuck
    delivery = Delivery(body=b"{}", headers={}, attempt=1, redelivered=False,
                        queue="crossdock.endpoint.ep.work", endpoint="ep", message_id="7")

    worker._publish_outcome(delivery, Retry("boom"))

    assert stuck.closed
    assert [channel.published for channel in connection.opened] == [
        ["crossdock.endpoint.ep.retry.1s"]]
    assert worker._confirm_channel is connection.opened[0]
