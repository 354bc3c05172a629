"""Per-endpoint queues: what they look like, declaring, looking at and deleting them.

Every queue is durable and declared through the default exchange. Their
arguments follow `settings.queue_type`:

- ``quorum`` (default): ``x-queue-type: quorum``; the delay queues (retry tiers
  and the defer queue) also carry
  ``x-dead-letter-strategy: at-least-once`` and ``x-overflow: reject-publish``,
  without which a quorum queue dead-letters at most once (a message expiring
  while the work queue is unavailable would be lost).
- ``classic``: ``x-queue-type: classic``.

The queue type is not part of the queue names: switching it would otherwise
strand the jobs waiting in the old queues without a word. RabbitMQ refuses to
redeclare a queue with other arguments (406 PRECONDITION_FAILED), so after a
switch the first declaration raises `TopologyMismatchError` naming the queue:
set queue_type back, or drain and delete the endpoint's queues first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pika.exceptions

from shared.broker.connection import close_quietly, connect, describe, pika_errors, translate
from shared.broker.errors import TopologyMismatchError
from shared.queues import defer_queue, failed_queue, retry_queue, retry_tiers, work_queue
from shared.settings import Settings

_PRECONDITION_FAILED = 406
_NOT_FOUND = 404


@dataclass(frozen=True)
class QueueSpec:
    """One queue as `declare_topology` declares it."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


def endpoint_topology(settings: Settings, endpoint: str) -> list[QueueSpec]:
    """The queues of `endpoint`, in declaration order: work, retry tiers (shortest first),
    defer, failed. Pure; the arguments are exactly what RabbitMQ will compare on redeclare."""
    prefix = settings.queue_prefix
    work = work_queue(prefix, endpoint)
    specs = [QueueSpec(work, {"x-queue-type": settings.queue_type})]
    for delay in retry_tiers(settings.retry_delays):
        specs.append(_delay_queue(settings, retry_queue(prefix, endpoint, delay), delay, work))
    defer = defer_queue(prefix, endpoint, settings.defer_seconds)
    specs.append(_delay_queue(settings, defer, settings.defer_seconds, work))
    specs.append(QueueSpec(failed_queue(prefix, endpoint), {"x-queue-type": settings.queue_type}))
    return specs


def _delay_queue(settings: Settings, name: str, seconds: int, work: str) -> QueueSpec:
    """A queue holding messages `seconds` seconds, then dead-lettering them to `work`."""
    arguments: dict[str, Any] = {
        "x-queue-type": settings.queue_type,
        "x-message-ttl": seconds * 1000,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": work,
    }
    if settings.queue_type == "quorum":
        arguments["x-dead-letter-strategy"] = "at-least-once"
        arguments["x-overflow"] = "reject-publish"
    return QueueSpec(name, arguments)


def declare_topology(connection: Any, settings: Settings, endpoint: str) -> None:
    """Declare the queues of `endpoint` on an open `pika.BlockingConnection`. Idempotent.

    Uses a short-lived channel of its own, since a refused declaration closes the
    channel it was made on.

    Raises `TopologyMismatchError` when a queue exists with other arguments,
    `BrokerAccessDeniedError` without configure permission, and
    `BrokerUnavailableError` when the connection fails.
    """
    context = f"declaring the queues of endpoint {endpoint!r}"
    with pika_errors(context):
        channel = connection.channel()
    try:
        for spec in endpoint_topology(settings, endpoint):
            try:
                channel.queue_declare(spec.name, durable=True, arguments=spec.arguments)
            except pika.exceptions.ChannelClosedByBroker as exc:
                if exc.reply_code == _PRECONDITION_FAILED:
                    raise _mismatch(settings, spec.name, describe(exc)) from exc
                raise translate(exc, context) from exc
            except pika.exceptions.AMQPError as exc:
                raise translate(exc, context) from exc
    finally:
        if channel.is_open:
            with pika_errors(context):
                channel.close()


def endpoint_queue_names(
    settings: Settings, endpoint: str, retry_delays: Iterable[int] = (),
    defer_seconds: Iterable[int] = (),
) -> list[str]:
    """Every queue `endpoint` may have: those of `endpoint_topology`, plus the retry
    and defer queues of other delays (earlier settings). The work queue comes first.
    Pure."""
    prefix = settings.queue_prefix
    names = [spec.name for spec in endpoint_topology(settings, endpoint)]
    names += [retry_queue(prefix, endpoint, delay) for delay in sorted(set(retry_delays))]
    names += [defer_queue(prefix, endpoint, seconds) for seconds in sorted(set(defer_seconds))]
    return list(dict.fromkeys(names))


def delete_topology(
    settings: Settings, endpoint: str, *, retry_delays: Iterable[int] = (),
    defer_seconds: Iterable[int] = (), before_delete: Callable[[], None] | None = None,
) -> int:
    """Delete the queues of `endpoint` (`endpoint_queue_names`) with the messages they
    hold; returns how many messages went. Queues that do not exist are fine.

    The work queue goes first: RabbitMQ cancels its consumers at once (the worker
    then stops consuming the endpoint, and re-declares none of its queues). A
    message a consumer still holds is then an orphan: a retry or parking copy
    published for it finds no queue and is dropped.

    `before_delete` runs once a connection is open and before anything is deleted
    (the store's deletion: if it raises, nothing is). Raises `BrokerUnavailableError`
    or `BrokerAccessDeniedError` (without configure permission): before
    `before_delete` ran, or after, with some queues left.
    """
    names = endpoint_queue_names(settings, endpoint, retry_delays, defer_seconds)
    connection = connect(settings, "crossdock-delete-endpoint")
    dropped = 0
    try:
        if before_delete is not None:
            before_delete()
        with pika_errors(f"deleting the queues of endpoint {endpoint!r}"):
            channel = connection.channel()
            for name in names:
                dropped += int(channel.queue_delete(name).method.message_count)
    finally:
        close_quietly(connection)
    return dropped


def _mismatch(settings: Settings, queue: str, detail: str) -> TopologyMismatchError:
    return TopologyMismatchError(
        f"RabbitMQ queue {queue!r} already exists with other arguments than these "
        f"settings declare (queue_type={settings.queue_type}; RabbitMQ said: {detail}). "
        f"If queue_type was changed, set it back, or stop the consumers, move or drain "
        f"the queue's messages and delete it (rabbitmqctl delete_queue {queue}) so "
        f"crossdock can declare it again.",
        queue=queue,
    )


def ping(settings: Settings) -> None:
    """Open and close a connection: readiness check.

    Raises `BrokerUnavailableError` or `BrokerAccessDeniedError`.
    """
    connection = connect(settings, "crossdock-ping")
    close_quietly(connection)


@dataclass(frozen=True)
class QueueCount:
    """What a passive declare says about a queue."""

    messages: int  # ready messages (not those delivered and not yet acknowledged)
    consumers: int


def count_queues(settings: Settings, names: Iterable[str]) -> dict[str, QueueCount]:
    """Ready messages and consumers of each queue named, on one connection (passive
    declares: nothing is created); queues that do not exist are left out.

    Raises `BrokerUnavailableError` or `BrokerAccessDeniedError`.
    """
    wanted = list(dict.fromkeys(names))
    connection = connect(settings, "crossdock-queue-depths")
    counts: dict[str, QueueCount] = {}
    try:
        with pika_errors("counting the messages of queues"):
            channel = connection.channel()
            for name in wanted:
                try:
                    result = channel.queue_declare(name, passive=True)
                except pika.exceptions.ChannelClosedByBroker as exc:
                    if exc.reply_code != _NOT_FOUND:
                        raise
                    channel = connection.channel()  # a 404 closes the channel
                    continue
                counts[name] = QueueCount(int(result.method.message_count),
                                          int(result.method.consumer_count))
    finally:
        close_quietly(connection)
    return counts


def queue_depths(settings: Settings, endpoint: str) -> dict[str, int]:
    """Ready-message counts of `endpoint`'s queues by name (passive declares; queues
    that do not exist are left out). Unacknowledged messages are not counted.

    Raises `BrokerUnavailableError` or `BrokerAccessDeniedError`.
    """
    names = [spec.name for spec in endpoint_topology(settings, endpoint)]
    return {name: count.messages for name, count in count_queues(settings, names).items()}
