"""Moving parked messages from an endpoint's failed queue back to its work queue.

Once whatever made the jobs fail is fixed (a password, a permission, a full
disk), an operator sends them round again. Each message is taken with
``basic_get``, published with a confirm to the work queue, and only then acked:
at least once, like everything else (a crash in between leaves a copy in both
queues; the consumer drops the duplicate of a finished job). A moved message
keeps its attempt number (the attempt it runs as, `ATTEMPT_HEADER`) and starts a
new round of ``max_attempts`` attempts there (`ROUND_START_HEADER`), with no
deferrals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pika.exceptions

from shared.broker.connection import close_quietly, connect, pika_errors
from shared.broker.delivery import (
    ATTEMPT_HEADER,
    DEFER_REASON_HEADER,
    DEFERRALS_HEADER,
    ERROR_HEADER,
    ORIGIN_HEADER,
    REASON_HEADER,
    ROUND_START_HEADER,
    attempt_from_headers,
)
from shared.broker.publisher import OutgoingMessage, publish_confirmed
from shared.broker.topology import declare_topology
from shared.queues import failed_queue, work_queue
from shared.settings import Settings

# Headers that describe the parking or past deferrals (ours) or a dead-lettering
# (the broker's): a redriven job starts afresh.
_DROPPED = (ERROR_HEADER, REASON_HEADER, ORIGIN_HEADER, DEFERRALS_HEADER, DEFER_REASON_HEADER,
            "x-death", "x-first-death-", "x-last-death-", "x-delivery-count")


@dataclass(frozen=True)
class ParkedMessage:
    """A message about to go back to work."""

    body: bytes
    headers: Mapping[str, Any]
    message_id: str | None


BeforeMove = Callable[[ParkedMessage], None]


def redrive_failed(
    settings: Settings, endpoint: str, before_move: BeforeMove | None = None
) -> int:
    """Move every message parked in `endpoint`'s failed queue to its work queue, each
    starting a new round of attempts (`back_to_work`); returns how many moved.

    `before_move` runs for each message before it is published (e.g. to set its
    job back to pending); if it raises, that message stays parked and the error
    propagates. Messages parked while this runs may stay for the next call: it
    moves at most as many as the queue held when it started.

    Raises `BrokerUnavailableError`, `BrokerAccessDeniedError`, `PublishRejectedError`,
    `TopologyMismatchError`.
    """
    source = failed_queue(settings.queue_prefix, endpoint)
    target = work_queue(settings.queue_prefix, endpoint)
    connection = connect(settings, "crossdock-redrive")
    moved = 0
    try:
        declare_topology(connection, settings, endpoint)
        with pika_errors(f"moving messages from {source!r} to {target!r}"):
            channel = connection.channel()
            channel.confirm_delivery()
            waiting = channel.queue_declare(source, passive=True).method.message_count
        while moved < waiting:
            if not _move_one(channel, source, target, before_move):
                break
            moved += 1
    finally:
        close_quietly(connection)
    return moved


def retry_parked(settings: Settings, endpoint: str, message_id: str) -> int:
    """Move the parked message of one job (its message id) from `endpoint`'s failed
    queue back to its work queue (`back_to_work`, as a redrive does); returns how
    many copies of it were parked (0: none, nothing moved).

    Every message the queue held when this started is taken without an ack; the
    first copy is published to the work queue with a confirm, then it and any other
    copies of the job (a message parked twice) are acked, so the failed queue no
    longer shows the job; the others go back, in their order, with one nack. A
    failure on the way closes the connection, which gives every message back.
    Quorum queues put messages given back behind those parked meanwhile (classic
    queues restore their places) and count the return in ``x-delivery-count``.
    Callers take turns per failed queue: a second mover holding the other messages
    would hide this job's from it.

    Raises `BrokerUnavailableError`, `BrokerAccessDeniedError`, `PublishRejectedError`,
    `TopologyMismatchError`.
    """
    source = failed_queue(settings.queue_prefix, endpoint)
    target = work_queue(settings.queue_prefix, endpoint)
    context = f"moving the message of job {message_id} from {source!r} to {target!r}"
    connection = connect(settings, "crossdock-retry")
    try:
        declare_topology(connection, settings, endpoint)
        with pika_errors(context):
            channel = connection.channel()
            channel.confirm_delivery()
            waiting = channel.queue_declare(source, passive=True).method.message_count
            copies: list[tuple[Any, Any, bytes]] = []
            last_other: int | None = None
            for _ in range(waiting):
                method, properties, body = channel.basic_get(source, auto_ack=False)
                if method is None:
                    break
                if properties.message_id == message_id:
                    copies.append((method, properties, body))
                else:
                    last_other = method.delivery_tag
        if copies:
            _method, properties, body = copies[0]
            publish_confirmed(channel, OutgoingMessage(
                target, body, back_to_work(properties.headers or {}), message_id,
                content_type=properties.content_type,
            ))
        with pika_errors(context):
            for method, _properties, _body in copies:
                channel.basic_ack(method.delivery_tag)
            if last_other is not None:
                channel.basic_nack(last_other, multiple=True, requeue=True)
            channel.close()  # waits for the broker: the others are back when this returns
    finally:
        close_quietly(connection)
    return len(copies)


def _move_one(channel: Any, source: str, target: str, before_move: BeforeMove | None) -> bool:
    """Move the head of `source`; False when it is empty."""
    context = f"moving a message from {source!r} to {target!r}"
    with pika_errors(context):
        method, properties, body = channel.basic_get(source, auto_ack=False)
    if method is None:
        return False
    headers = back_to_work(properties.headers or {})
    try:
        if before_move is not None:
            before_move(ParkedMessage(body, headers, properties.message_id))
        publish_confirmed(channel, OutgoingMessage(
            target, body, headers, properties.message_id,
            content_type=properties.content_type,
        ))
    except BaseException:
        _requeue(channel, method.delivery_tag)
        raise
    with pika_errors(context):
        channel.basic_ack(method.delivery_tag)
    return True


def back_to_work(parked: Mapping[str, Any]) -> dict[str, Any]:
    """The headers of a parked message sent back to work: the parking and deferral
    headers go, its attempt stays (the attempt it runs as) and a new round of
    attempts starts there."""
    headers = {key: value for key, value in parked.items() if not key.startswith(_DROPPED)}
    attempt = attempt_from_headers(parked)
    headers[ATTEMPT_HEADER] = attempt
    headers[ROUND_START_HEADER] = attempt
    return headers


def _requeue(channel: Any, delivery_tag: int) -> None:
    """Put a message back at the head of the failed queue; closing the channel
    would do the same, so a failure here is not worth reporting over the first."""
    try:
        if channel.is_open:
            channel.basic_nack(delivery_tag, requeue=True)
    except pika.exceptions.AMQPError:
        pass

