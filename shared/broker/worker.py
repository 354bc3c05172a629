"""The consuming runtime: deliveries in, a handler's outcome recorded, at least once.

One thread (the one calling `Worker.run`) owns the connection and only does
I/O: it receives deliveries, serves heartbeats, publishes retry, deferred and
failed copies and acks. Handlers run in a pool of `consumer_concurrency` threads, so a
copy that takes an hour never starves the heartbeat. A handler's outcome comes
back to the connection thread through `add_callback_threadsafe`, where a retry,
deferred or failed copy is published with a confirm *before* the original is acked
(DESIGN invariant 7): killing the process at any point loses nothing, at worst
a job runs twice.

Prefetch is per consumer (quorum queues refuse channel-wide QoS), by default as
many deliveries as threads (`prefetch_for`). More (`consumer_prefetch`) saves a
thread the round trip to the next message, but a delivery held behind a long job
waits there while other consumers idle, and a job on a repository another
consumer is copying can't be taken by the one that waits for it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from types import MappingProxyType
from typing import Any

import pika.exceptions
import structlog

from shared.broker.connection import (
    PIKA_ERRORS,
    close_quietly,
    node_failed,
    nodes_of,
    open_connection,
    pika_errors,
)
from shared.broker.delivery import (
    ATTEMPT_HEADER,
    DEFER_REASON_HEADER,
    DEFERRALS_HEADER,
    ERROR_HEADER,
    ORIGIN_HEADER,
    REASON_HEADER,
    Abandon,
    Ack,
    Defer,
    Delivery,
    Fail,
    Handler,
    Outcome,
    Retry,
    attempt_from_headers,
    deferrals_from_headers,
    round_start_from_headers,
)
from shared.broker.errors import (
    BrokerAccessDeniedError,
    BrokerError,
    PublishRejectedError,
    TopologyMismatchError,
)
from shared.broker.nodes import reconnect_delay
from shared.broker.publisher import OutgoingMessage, publish_confirmed
from shared.broker.topology import declare_topology
from shared.queues import defer_queue, failed_queue, retry_queue, retry_tier, work_queue
from shared.settings import Settings

# Headers the broker sets; a copy we publish starts clean.
_BROKER_HEADERS = ("x-death", "x-first-death-", "x-last-death-", "x-delivery-count")
_MAX_ERROR_CHARS = 2000
_NOT_FOUND = 404

log = structlog.get_logger(__name__)


def prefetch_for(settings: Settings) -> int:
    """Deliveries a worker holds per endpoint: `consumer_prefetch`, or when 0 as many as
    `consumer_concurrency`."""
    return settings.consumer_prefetch or settings.consumer_concurrency


class Worker:
    """Consumes endpoints' work queues and runs `handler` for every delivery.

    `run()` blocks until `stop()`. Until its first connection consumes, any broker
    error ends it (a wrong URL, credentials, queue type, or no node reachable).
    After that it never gives up: a lost connection is retried, on the next node
    at once and then in rounds over every node with a jittered backoff (first
    within 1 s, at most `max_reconnect_delay`), whatever pika says (a stream lost
    in the handshake looks like a refused login).
    """

    def __init__(
        self,
        settings: Settings,
        handler: Handler,
        endpoints: Iterable[str] = (),
        *,
        name: str = "crossdock-consumer",
        prefetch: int | None = None,
        stop_timeout: float = 30.0,
        max_reconnect_delay: float = 5.0,
    ) -> None:
        self._settings = settings
        self._handler = handler
        self._name = name
        self._prefetch = prefetch or prefetch_for(settings)
        self._stop_timeout = stop_timeout
        self._max_delay = max_reconnect_delay
        self._lock = threading.Lock()
        self._endpoints: set[str] = set()
        self._stopping = False  # a plain flag: stop() must be safe in a signal handler
        self._connection: Any = None
        # Owned by the connection thread:
        self._channel: Any = None
        self._confirm_channel: Any = None
        self._consumers: dict[str, tuple[str, str]] = {}  # consumer tag -> (endpoint, queue)
        self._consuming = False  # this connection got as far as consuming
        self._consumed_once = False  # some connection did: broker errors are retried
        self._in_flight: dict[int, Delivery] = {}  # delivery tag -> delivery
        self._pool = ThreadPoolExecutor(settings.consumer_concurrency, "crossdock-handler")
        for endpoint in endpoints:
            self.add_endpoint(endpoint)

    @property
    def endpoints(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._endpoints)

    def add_endpoint(self, endpoint: str) -> None:
        """Start consuming `endpoint`'s work queue (declared first). Any thread may call it."""
        work_queue(self._settings.queue_prefix, endpoint)  # rejects an unusable name now
        with self._lock:
            self._endpoints.add(endpoint)
            connection = self._connection
        if connection is not None:
            # If it is closing, the next connection consumes every endpoint anyway.
            with contextlib.suppress(pika.exceptions.AMQPError):
                connection.add_callback_threadsafe(self._consume_new_endpoints)

    def remove_endpoint(self, endpoint: str) -> None:
        """Stop consuming `endpoint` (it was deleted): its consumer is cancelled, the
        messages it is running finish. Nothing is declared. Any thread may call it."""
        with self._lock:
            self._endpoints.discard(endpoint)
            connection = self._connection
        if connection is not None:
            with contextlib.suppress(pika.exceptions.AMQPError):
                connection.add_callback_threadsafe(self._cancel_removed)

    def stop(self) -> None:
        """Ask `run()` to stop: no new deliveries, in-flight handlers get `stop_timeout`
        seconds to finish, then their messages are requeued. Safe in a signal handler."""
        self._stopping = True

    def run(self) -> None:
        """Consume until `stop()`. Raises `BrokerError` (e.g. `BrokerUnavailableError`,
        `BrokerAccessDeniedError`, `TopologyMismatchError`) only before the first
        connection consumed."""
        rounds = 0  # failed rounds over every node since the last consuming connection
        try:
            while not self._stopping:
                try:
                    self._serve()
                    return
                except BrokerError as exc:
                    if self._stopping:
                        return
                    if not self._consumed_once:
                        raise
                    if self._consuming and len(nodes_of(self._settings)) > 1:
                        rounds, delay = 0, 0.0  # a node went away: the next one at once
                    else:
                        rounds = 1 if self._consuming else rounds + 1
                        delay = reconnect_delay(rounds, cap=self._max_delay)
                    log.warning("broker connection lost, reconnecting", error=str(exc),
                                delay=round(delay, 2))
                self._sleep(delay)
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _serve(self) -> None:
        """One connection's life: connect, consume until stopping, drain, close."""
        self._consuming = False
        connection, node = open_connection(self._settings, self._name)
        self._consumers, self._in_flight = {}, {}
        try:
            with pika_errors("consuming"):
                self._channel = connection.channel()
                self._channel.basic_qos(prefetch_count=self._prefetch)
                self._channel.add_on_cancel_callback(self._on_cancelled)
                self._confirm_channel = connection.channel()
                self._confirm_channel.confirm_delivery()
                with self._lock:
                    self._connection = connection
                self._consume_new_endpoints(starting=not self._consumed_once)
                self._consuming = self._consumed_once = True
                log.info("consuming", endpoints=sorted(self.endpoints))
                while not self._stopping:
                    connection.process_data_events(time_limit=0.2)
                self._drain(connection)
        except BrokerError:
            node_failed(self._settings, node)  # the next connection tries the others first
            raise
        finally:
            with self._lock:
                self._connection = None
            close_quietly(connection)

    def _consume_new_endpoints(self, starting: bool = False) -> None:
        """Connection thread: declare and consume endpoints not consumed yet."""
        consumed = {endpoint for endpoint, _queue in self._consumers.values()}
        for endpoint in sorted(self.endpoints - consumed):
            queue = work_queue(self._settings.queue_prefix, endpoint)
            try:
                declare_topology(self._channel.connection, self._settings, endpoint)
            except (TopologyMismatchError, BrokerAccessDeniedError) as exc:
                if starting:
                    raise
                log.error("cannot consume endpoint", endpoint=endpoint, queue=queue, error=str(exc))
                continue
            with pika_errors(f"consuming {queue!r}"):
                tag = self._channel.basic_consume(queue, self._on_message)
            self._consumers[tag] = (endpoint, queue)
            if not starting:
                log.info("consuming endpoint", endpoint=endpoint, queue=queue)

    def _cancel_removed(self) -> None:
        """Connection thread: cancel the consumers of endpoints no longer wanted."""
        wanted = self.endpoints
        for tag, (endpoint, queue) in list(self._consumers.items()):
            if endpoint not in wanted:
                del self._consumers[tag]
                with pika_errors(f"cancelling the consumer of {queue!r}"):
                    self._channel.basic_cancel(tag)  # pika requeues undispatched deliveries
                log.info("stopped consuming endpoint", endpoint=endpoint, queue=queue)

    def _on_cancelled(self, frame: Any) -> None:
        """The broker cancelled a consumer: its queue was deleted, with its endpoint or
        by hand. Stop consuming that endpoint and declare nothing: its queues stay
        deleted (the consumer service adds the endpoint back while the store still
        has it)."""
        endpoint, queue = self._consumers.pop(frame.method.consumer_tag, (None, None))
        if endpoint is not None:
            with self._lock:
                self._endpoints.discard(endpoint)
        log.warning("consumer cancelled by the broker (its queue was deleted); no longer "
                    "consuming the endpoint", endpoint=endpoint, queue=queue)

    def _on_message(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        consumer = self._consumers.get(method.consumer_tag)
        if self._stopping or consumer is None:  # stopping, or a consumer just cancelled
            channel.basic_nack(method.delivery_tag, requeue=True)
            return
        headers = MappingProxyType(dict(properties.headers or {}))
        endpoint, queue = consumer
        delivery = Delivery(
            body=body,
            headers=headers,
            attempt=attempt_from_headers(headers),
            redelivered=bool(method.redelivered),
            queue=queue,
            endpoint=endpoint,
            message_id=properties.message_id,
            deferrals=deferrals_from_headers(headers),
            round_start=round_start_from_headers(headers),
            connection_alive=lambda: bool(channel.is_open),
        )
        self._in_flight[method.delivery_tag] = delivery
        self._pool.submit(self._handle, channel.connection, method.delivery_tag, delivery)

    def _handle(self, connection: Any, tag: int, delivery: Delivery) -> None:
        """Pool thread: run the handler, hand the outcome to the connection thread."""
        with structlog.contextvars.bound_contextvars(
            endpoint=delivery.endpoint, queue=delivery.queue, message_id=delivery.message_id
        ):
            if connection.is_closed:
                log.info("connection lost before the handler ran; the broker redelivers")
                return
            if self._stopping:  # a prefetched delivery not started yet: back to the queue
                outcome: Outcome = Abandon("the consumer is stopping")
            else:
                outcome = self._run_handler(delivery)
            if isinstance(outcome, Abandon) and connection.is_closed:
                log.info("run abandoned, its connection is closed; the broker redelivers "
                         "the message", reason=outcome.reason)
                return
            try:
                connection.add_callback_threadsafe(partial(self._settle, tag, outcome))
            except pika.exceptions.AMQPError:
                log.warning("connection lost before the outcome was recorded; "
                            "the broker redelivers the message", outcome=type(outcome).__name__)

    def _run_handler(self, delivery: Delivery) -> Outcome:
        try:
            outcome = self._handler(delivery)
        except Exception as exc:
            log.exception("handler raised, retrying the message")
            return Retry(f"{type(exc).__name__}: {exc}")
        if not isinstance(outcome, Ack | Retry | Fail | Defer | Abandon):
            log.error("handler returned no outcome, retrying the message", result=repr(outcome))
            return Retry(f"handler returned {outcome!r}")
        return outcome

    def _settle(self, tag: int, outcome: Outcome) -> None:
        """Connection thread: record the outcome durably, then ack."""
        delivery = self._in_flight.pop(tag, None)
        if delivery is None:
            return  # requeued at stop, or from a previous connection
        bound = log.bind(endpoint=delivery.endpoint, message_id=delivery.message_id)
        if isinstance(outcome, Abandon):  # a new run takes it (DESIGN invariant 4)
            bound.info("run abandoned, requeueing the message", reason=outcome.reason)
            with pika_errors("requeueing"):
                self._channel.basic_nack(tag, requeue=True)
            return
        if not isinstance(outcome, Ack):
            try:
                recorded = self._publish_outcome(delivery, outcome)
            except PublishRejectedError as exc:
                bound.error("could not record the outcome, requeueing", error=str(exc))
                with pika_errors("requeueing"):
                    self._channel.basic_nack(tag, requeue=True)
                return
            if not recorded:
                bound.warning("message dropped: the endpoint's queues were deleted (with "
                              "the endpoint, or by hand)", outcome=type(outcome).__name__)
        with pika_errors("acking"):
            self._channel.basic_ack(tag)

    def _publish_outcome(self, delivery: Delivery, outcome: Retry | Fail | Defer) -> bool:
        """Publish the retry, parked or deferred copy; False when the endpoint's work
        queue is gone (nothing published)."""
        headers = {k: v for k, v in delivery.headers.items() if not k.startswith(_BROKER_HEADERS)}
        if isinstance(outcome, Defer):
            return self._publish_deferred(delivery, outcome, headers)
        prefix, endpoint = self._settings.queue_prefix, delivery.endpoint
        headers[ERROR_HEADER] = outcome.error[:_MAX_ERROR_CHARS]
        delay = None
        if isinstance(outcome, Retry):
            delay = retry_tier(delivery.attempt_in_round, self._settings.retry_delays,
                               self._settings.max_attempts)
        # Retried or parked, the copy carries the attempt it runs as next (a parked
        # one once a redrive or `jobs retry` sends it back).
        headers[ATTEMPT_HEADER] = delivery.attempt + 1
        if delay is not None:
            target = retry_queue(prefix, endpoint, delay)
        else:
            target = failed_queue(prefix, endpoint)
            headers[REASON_HEADER] = "failed" if isinstance(outcome, Fail) else "exhausted"
            headers[ORIGIN_HEADER] = delivery.queue
        if not self._publish_copy(delivery, target, headers):
            return False
        if delay is None:
            log.warning("message parked", endpoint=endpoint, queue=target,
                        attempt=delivery.attempt, error=outcome.error)
        else:
            log.info("message scheduled for retry", endpoint=endpoint, queue=target,
                     attempt=delivery.attempt, delay=delay, error=outcome.error)
        return True

    def _publish_deferred(
        self, delivery: Delivery, outcome: Defer, headers: dict[str, Any]
    ) -> bool:
        """The copy waits `defer_seconds` in the defer queue: same attempt, one more deferral."""
        seconds = self._settings.defer_seconds
        target = defer_queue(self._settings.queue_prefix, delivery.endpoint, seconds)
        headers[ATTEMPT_HEADER] = delivery.attempt
        headers[DEFERRALS_HEADER] = delivery.deferrals + 1
        headers[DEFER_REASON_HEADER] = outcome.reason[:_MAX_ERROR_CHARS]
        if not self._publish_copy(delivery, target, headers):
            return False
        log.info("job deferred", endpoint=delivery.endpoint, queue=target,
                 attempt=delivery.attempt, deferrals=delivery.deferrals + 1,
                 delay=seconds, reason=outcome.reason)
        return True

    def _publish_copy(self, delivery: Delivery, target: str, headers: dict[str, Any]) -> bool:
        """Publish a copy of `delivery` to `target` with a confirm. When `target` is
        gone: while the endpoint's work queue is there (a queue deleted by hand) its
        queues are declared again, once; without it (the endpoint was deleted, its
        work queue first) nothing is declared, the endpoint is no longer consumed and
        False says the copy was not published. Raises `PublishRejectedError`."""
        message = OutgoingMessage(target, delivery.body, headers, delivery.message_id)
        try:
            publish_confirmed(self._confirm_channel, message)
        except PublishRejectedError as exc:
            if exc.unroutable:
                if not self._work_queue_exists(delivery.endpoint):
                    self.remove_endpoint(delivery.endpoint)
                    return False
                declare_topology(self._channel.connection, self._settings, delivery.endpoint)
            else:  # nacked: this channel may be nacked for good (see the publisher's lane)
                log.warning("RabbitMQ nacked a publish, publishing again on a new channel",
                            queue=target)
                self._renew_confirm_channel()
            publish_confirmed(self._confirm_channel, message)
        return True

    def _work_queue_exists(self, endpoint: str) -> bool:
        """Connection thread: a passive declare of `endpoint`'s work queue, on a channel
        of its own (a 404 closes the channel it comes on)."""
        queue = work_queue(self._settings.queue_prefix, endpoint)
        with pika_errors(f"looking for {queue!r}"):
            channel = self._channel.connection.channel()
            try:
                channel.queue_declare(queue, passive=True)
            except pika.exceptions.ChannelClosedByBroker as exc:
                if exc.reply_code == _NOT_FOUND:
                    return False
                raise
            channel.close()
        return True

    def _renew_confirm_channel(self) -> None:
        old = self._confirm_channel
        with pika_errors("opening a publishing channel"):
            self._confirm_channel = self._channel.connection.channel()
            self._confirm_channel.confirm_delivery()
        with contextlib.suppress(*PIKA_ERRORS):
            old.close()

    def _drain(self, connection: Any) -> None:
        """Stop consuming, let in-flight handlers finish, requeue what is left."""
        for consumer_tag in list(self._consumers):
            self._channel.basic_cancel(consumer_tag)  # pika requeues undispatched deliveries
        deadline = time.monotonic() + self._stop_timeout
        while self._in_flight and time.monotonic() < deadline:
            connection.process_data_events(time_limit=0.1)
        if self._in_flight:
            log.warning("stop timeout, requeueing in-flight messages", count=len(self._in_flight))
            for delivery_tag in list(self._in_flight):
                self._channel.basic_nack(delivery_tag, requeue=True)
            self._in_flight.clear()
        log.info("stopped consuming")

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._stopping and time.monotonic() < deadline:
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))

