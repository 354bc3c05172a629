"""Queue topology on the real broker: arguments, idempotence, a switched queue type."""

from __future__ import annotations

import time
from typing import Any

import pika
import pytest

from shared.broker import (
    BrokerAccessDeniedError,
    BrokerUnavailableError,
    TopologyMismatchError,
    declare_topology,
    delete_topology,
    endpoint_queue_names,
    endpoint_topology,
    ping,
    queue_depths,
)
from shared.queues import defer_queue, failed_queue, retry_queue, work_queue
from shared.settings import Settings


def redeclare(broker: Any, name: str, arguments: dict[str, object]) -> int | None:
    """Redeclare `name` with `arguments`: None if RabbitMQ agrees, else the reply code."""
    channel = broker.channel()
    try:
        channel.queue_declare(name, durable=True, arguments=arguments)
    except pika.exceptions.ChannelClosedByBroker as exc:
        return int(exc.reply_code)
    channel.close()
    return None


def test_quorum_queues_carry_ttl_dead_lettering_and_safe_overflow(broker) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,))
    work = work_queue(settings.queue_prefix, endpoint)

    declare_topology(broker.connection, settings, endpoint)
    declare_topology(broker.connection, settings, endpoint)  # idempotent

    quorum = {"x-queue-type": "quorum"}
    assert redeclare(broker, work, quorum) is None
    assert redeclare(broker, failed_queue(settings.queue_prefix, endpoint), quorum) is None
    for delay in (1, 2):
        retry = retry_queue(settings.queue_prefix, endpoint, delay)
        expected = {
            **quorum,
            "x-message-ttl": delay * 1000,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": work,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        }
        assert redeclare(broker, retry, expected) is None
        assert redeclare(broker, retry, {**expected, "x-message-ttl": 999}) == 406
        at_most_once = {**expected, "x-dead-letter-strategy": "at-most-once"}
        assert redeclare(broker, retry, at_most_once) == 406
    assert redeclare(broker, work, {"x-queue-type": "classic"}) == 406


@pytest.mark.parametrize("queue_type", ["quorum", "classic"])
def test_the_defer_queue_holds_defer_seconds_then_dead_letters_to_work(
    broker, queue_type: str
) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,), queue_type=queue_type, defer_seconds=3)
    work = work_queue(settings.queue_prefix, endpoint)

    declare_topology(broker.connection, settings, endpoint)

    defer = defer_queue(settings.queue_prefix, endpoint, 3)
    expected: dict[str, object] = {
        "x-queue-type": queue_type,
        "x-message-ttl": 3000,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": work,
    }
    if queue_type == "quorum":
        expected |= {"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}
    assert redeclare(broker, defer, expected) is None
    assert redeclare(broker, defer, {**expected, "x-message-ttl": 2000}) == 406
    assert defer in {spec.name for spec in endpoint_topology(settings, endpoint)}


def test_classic_queues_are_durable_classic_queues(broker) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,), queue_type="classic")
    work = work_queue(settings.queue_prefix, endpoint)

    declare_topology(broker.connection, settings, endpoint)

    assert redeclare(broker, work, {"x-queue-type": "classic"}) is None
    retry = retry_queue(settings.queue_prefix, endpoint, 2)
    expected = {
        "x-queue-type": "classic",
        "x-message-ttl": 2000,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": work,
    }
    assert redeclare(broker, retry, expected) is None
    assert redeclare(broker, retry, {**expected, "x-overflow": "reject-publish"}) == 406
    assert redeclare(broker, work, {"x-queue-type": "quorum"}) == 406


@pytest.mark.parametrize(("before", "after"), [("quorum", "classic"), ("classic", "quorum")])
def test_switching_queue_type_names_the_queue_and_the_fix(
    broker, before: str, after: str
) -> None:
    endpoint = broker.endpoint()
    declare_topology(broker.connection, broker.settings((endpoint,), queue_type=before), endpoint)
    switched = broker.settings(queue_type=after)

    with pytest.raises(TopologyMismatchError) as caught:
        declare_topology(broker.connection, switched, endpoint)

    work = work_queue(switched.queue_prefix, endpoint)
    assert caught.value.queue == work
    message = str(caught.value)
    assert repr(work) in message
    assert f"queue_type={after}" in message
    assert "delete_queue" in message
    assert broker.connection.is_open  # only the declaring channel was closed


def test_queue_depths_counts_ready_messages(broker) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,))
    assert queue_depths(settings, endpoint) == {}  # nothing declared yet

    declare_topology(broker.connection, settings, endpoint)
    channel = broker.channel()
    channel.basic_publish("", failed_queue(settings.queue_prefix, endpoint), b"x")
    channel.close()

    depths = queue_depths(settings, endpoint)
    assert list(depths) == [
        work_queue(settings.queue_prefix, endpoint),
        retry_queue(settings.queue_prefix, endpoint, 1),
        retry_queue(settings.queue_prefix, endpoint, 2),
        defer_queue(settings.queue_prefix, endpoint, settings.defer_seconds),
        failed_queue(settings.queue_prefix, endpoint),
    ]
    assert broker.depth(failed_queue(settings.queue_prefix, endpoint)) == 1


def test_ping_succeeds_against_a_running_broker(broker) -> None:
    ping(broker.settings())


def test_ping_fails_fast_and_clearly_when_nothing_listens(broker) -> None:
    settings = broker.settings(amqp_url="amqp://guest:secret@127.0.0.1:1/%2F")
    started = time.monotonic()
    with pytest.raises(BrokerUnavailableError) as caught:
        ping(settings)
    assert time.monotonic() - started < 2
    assert "127.0.0.1:1" in str(caught.value)
    assert "secret" not in str(caught.value)


def test_wrong_credentials_are_access_denied_not_unavailable(broker) -> None:
    settings = broker.settings(amqp_url=broker.amqp_url.replace("guest:guest", "guest:wrong"))
    with pytest.raises(BrokerAccessDeniedError, match="password"):
        ping(settings)


def test_an_endpoints_queues_include_those_of_earlier_delays_work_first() -> None:
    settings = Settings(queue_prefix="p", retry_delays=(30, 120), defer_seconds=2)

    names = endpoint_queue_names(settings, "e", retry_delays=(120, 7), defer_seconds=(2, 5))

    assert names == ["p.endpoint.e.work", "p.endpoint.e.retry.30s", "p.endpoint.e.retry.2m",
                     "p.endpoint.e.defer.2s", "p.endpoint.e.failed", "p.endpoint.e.retry.7s",
                     "p.endpoint.e.defer.5s"]


def test_deleting_an_endpoints_queues_counts_their_messages_and_skips_missing_ones(
    broker,
) -> None:
    endpoint = broker.endpoint()
    settings = broker.settings((endpoint,))
    declare_topology(broker.connection, settings, endpoint)
    channel = broker.channel()
    channel.confirm_delivery()
    for queue in (work_queue(settings.queue_prefix, endpoint),
                  failed_queue(settings.queue_prefix, endpoint)):
        channel.basic_publish("", queue, b"job")
    channel.close()

    assert delete_topology(settings, endpoint, retry_delays=(9,), defer_seconds=(9,)) == 2
    assert [name for name in endpoint_queue_names(settings, endpoint, (9,), (9,))
            if broker.exists(name)] == []
