"""The thread that owns a publisher's connection: a *lane*.

pika's BlockingConnection is not thread-safe, and a blocked or frozen broker can
hold a publish for a long time. So one thread owns the connection and runs the
requests other threads hand it; they wait on the request's future with a timeout
(`Publisher`). A lane reconnects after its connection failed (up to `attempts`
tries), but never after the connection was blocked: a new one would block too.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from shared.broker.connection import (
    PIKA_ERRORS,
    abort,
    close_quietly,
    node_failed,
    open_connection,
    translate,
    watch_blocking,
)
from shared.broker.errors import (
    BrokerBlockedError,
    BrokerError,
    BrokerUnavailableError,
    PublishRejectedError,
)
from shared.settings import Settings

log = structlog.get_logger(__name__)

# A nacked publish is sent again on a new channel this many times at most, pausing
# the lane's backoff (doubling, at most NACK_PAUSE_CAP seconds), within its deadline.
NACK_RETRIES = 5
NACK_PAUSE_CAP = 1.0
BLOCKED_MESSAGE = ("RabbitMQ blocks publishing (a memory or disk alarm); nothing is "
                   "published until the alarm clears")


@dataclass(eq=False)
class Request:
    """`operation(channel)` to run on a lane; its caller waits on `future`."""

    operation: Callable[[Any], None]
    deadline: float | None = None  # time.monotonic(); None: no limit
    future: Future[None] = field(default_factory=Future)

    def given_up(self) -> bool:
        """Its caller no longer waits: answered already (blocked) or past the deadline."""
        return self.future.done() or (
            self.deadline is not None and time.monotonic() >= self.deadline)

    def settle(self, error: BaseException | None = None) -> None:
        """Answer the caller, unless it was answered already."""
        try:
            if error is None:
                self.future.set_result(None)
            else:
                self.future.set_exception(error)
        except InvalidStateError:
            pass


class LaneEvents(Protocol):
    """What a lane tells its publisher (called in the lane's thread)."""

    def lane_connected(self, lane: Lane, connected: bool) -> None: ...

    def lane_blocked(self, lane: Lane, blocked: bool) -> None: ...


class Lane:
    """One thread and its connection; `put` requests, `retire` it when it seems stuck."""

    def __init__(self, settings: Settings, name: str, events: LaneEvents, *,
                 attempts: int, backoff: float) -> None:
        self._settings = settings
        self._name = name
        self._events = events
        self._attempts = attempts
        self._backoff = backoff
        self._requests: queue.SimpleQueue[Request | None] = queue.SimpleQueue()
        self._connection: Any = None
        self._channel: Any = None
        self.url: str | None = None
        self.blocked = False  # this lane's connection is blocked right now
        self.retired = False
        self.current: Request | None = None
        self.busy_since: float | None = None  # time.monotonic() the current request began
        self.pid = os.getpid()
        self._thread = threading.Thread(target=self._loop, name=f"{name}-lane", daemon=True)
        self._thread.start()

    def put(self, request: Request) -> None:
        self._requests.put(request)

    def take_pending(self) -> list[Request]:
        """Remove the requests not started yet and return them (call with the publisher's
        lock held, so no request is put meanwhile)."""
        pending: list[Request] = []
        while True:
            try:
                request = self._requests.get_nowait()
            except queue.Empty:
                return pending
            if request is not None:
                pending.append(request)

    def retire(self) -> None:
        """Finish the current request, then abandon the connection and end."""
        self.retired = True
        self._requests.put(None)

    def stop(self) -> None:
        """Finish the requests put so far, then close the connection and end."""
        self._requests.put(None)

    def abort(self) -> None:
        """Shut the connection's socket down from another thread (see `abort`)."""
        abort(self._connection)

    def join(self, timeout: float) -> bool:
        """Wait for the thread to end; True if it did."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def _loop(self) -> None:
        try:
            while (request := self._requests.get()) is not None:
                self._run(request)
        finally:
            self._drop(lost=False, clean=not self.retired)

    def _run(self, request: Request) -> None:
        if not request.future.set_running_or_notify_cancel():
            return  # its caller gave up before it started
        self.current, self.busy_since = request, time.monotonic()
        try:
            if not request.given_up():
                self._attempt(request)
            request.settle()
        except BrokerError as exc:
            request.settle(exc)
        except BaseException as exc:  # a bug: answer the caller, keep the lane alive
            log.exception("publish request failed")
            request.settle(exc)
        finally:
            self.current, self.busy_since = None, None

    def _attempt(self, request: Request) -> None:
        attempt = nacks = 0
        while True:
            attempt += 1
            channel = self._open()  # no node takes a connection: raised at once
            try:
                request.operation(channel)
                return
            except PublishRejectedError as exc:
                nacks += 1
                if exc.unroutable or nacks > NACK_RETRIES or request.given_up():
                    raise
                # A channel whose first publish to a quorum queue came while the queue
                # had no leader (an election, 0.1-0.3 s after its leader's node died)
                # is nacked for good by RabbitMQ 3.10; a new channel is not.
                self._new_channel()
                log.warning("RabbitMQ nacked a publish, publishing again on a new channel",
                            queue=exc.queue)
                time.sleep(min(NACK_PAUSE_CAP, self._backoff * 2 ** (nacks - 1)))
                attempt -= 1  # the connection is fine: not a connection attempt
            except BrokerUnavailableError as exc:
                blocked = self.blocked
                self._drop(lost=True)
                if blocked:  # never retried: a new connection blocks as well
                    raise BrokerBlockedError(f"{BLOCKED_MESSAGE}: {exc}") from exc
                if attempt == self._attempts or request.given_up():
                    raise BrokerUnavailableError(
                        f"RabbitMQ is unavailable after {attempt} attempts: {exc}"
                    ) from exc
                log.info("broker connection failed, reconnecting", error=str(exc))
                time.sleep(self._backoff * 2 ** (attempt - 1))

    def _open(self) -> Any:
        """The publishing channel: the current one, or a new one on the current
        connection, or a new connection."""
        if self._connection is None or not self._connection.is_open:
            self._drop(lost=False)
            self._connection, self.url = open_connection(self._settings, self._name)
            watch_blocking(self._connection, self._on_blocked, self._on_unblocked)
            self._events.lane_connected(self, True)
        elif self._channel is not None and self._channel.is_open:
            return self._channel
        try:
            channel = self._connection.channel()
            channel.confirm_delivery()
        except PIKA_ERRORS as exc:
            self._drop(lost=True)
            raise translate(exc, "opening a publishing channel") from exc
        self._channel = channel
        return channel

    def _new_channel(self) -> None:
        """Close the channel; the next `_open` opens a new one on the same connection."""
        channel, self._channel = self._channel, None
        if channel is not None:
            with contextlib.suppress(*PIKA_ERRORS):
                channel.close()

    def _on_blocked(self) -> None:
        self.blocked = True
        self._events.lane_blocked(self, True)
        if self.current is not None:
            self.current.settle(BrokerBlockedError(BLOCKED_MESSAGE))

    def _on_unblocked(self) -> None:
        self.blocked = False
        self._events.lane_blocked(self, False)

    def _drop(self, *, lost: bool, clean: bool = True) -> None:
        """Forget the connection; `lost`: its node failed (try the others first).

        A blocked connection can't be closed in time (RabbitMQ reads nothing from
        it): its socket is shut down instead, as is any connection not `clean`.
        """
        connection, url = self._connection, self.url
        self._connection = self._channel = None
        if connection is None:
            return
        if lost and url is not None:
            node_failed(self._settings, url)
        if self.blocked or not clean:
            abort(connection)  # then close() fails at once, and pika closes the socket
        close_quietly(connection)
        if self.blocked:
            self.blocked = False
            self._events.lane_blocked(self, False)
        self._events.lane_connected(self, False)
