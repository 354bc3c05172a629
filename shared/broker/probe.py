"""Readiness probes of RabbitMQ's nodes: can each take a publish right now?

A connection and a ping are not enough: a node with a memory or disk alarm still
accepts both, and tells a connection it is blocked only once it publishes. So the
probe publishes, with confirms and ``mandatory``, one empty message to a queue
name nobody declares: the node returns and confirms it, and nothing is left
behind. A blocked or silent connection is shut down, never waited for.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pika
import pika.exceptions

from shared.amqp_urls import redact_url, split_amqp_urls
from shared.broker.connection import (
    PIKA_ERRORS,
    abort,
    close_quietly,
    connection_parameters,
    quiet_pika,
    translate,
    watch_blocking,
)
from shared.broker.errors import BrokerBlockedError, BrokerError, PublishTimeoutError
from shared.errors import ConfigurationError, CrossdockError
from shared.settings import Settings


@dataclass(frozen=True)
class NodeStatus:
    """One node's answer: `error` is None when it took the probe."""

    url: str  # without its password
    error: CrossdockError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def state(self) -> str:
        """ok, blocked, timeout, unreachable or error (a bad URL)."""
        if self.error is None:
            return "ok"
        if isinstance(self.error, BrokerBlockedError):
            return "blocked"
        if isinstance(self.error, PublishTimeoutError):
            return "timeout"
        return "unreachable" if isinstance(self.error, BrokerError) else "error"


def probe_nodes(settings: Settings, deadline: float) -> list[NodeStatus]:
    """Probe every node of `amqp_url` at once, each until `deadline` (`time.monotonic`)
    at most; in the order the setting lists them. Never raises for a node's trouble.

    Raises `ConfigurationError` for a malformed `amqp_url`.
    """
    try:
        urls = split_amqp_urls(settings.amqp_url)
    except ValueError as exc:
        raise ConfigurationError(f"setting amqp_url: {exc}") from None
    probes = [_Probe(settings, url) for url in dict.fromkeys(urls)]
    for probe in probes:
        probe.start()
    return [probe.result(deadline) for probe in probes]


class _Probe:
    """One node's probe, on a thread of its own so that the caller keeps its deadline."""

    def __init__(self, settings: Settings, url: str) -> None:
        self._settings = settings
        self._url = url
        self._connection: Any = None
        self._blocked = False
        self._error: CrossdockError | None = None
        self._thread = threading.Thread(target=self._run, name="crossdock-readyz", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def result(self, deadline: float) -> NodeStatus:
        self._thread.join(max(0.0, deadline - time.monotonic()))
        url = redact_url(self._url)
        if self._thread.is_alive():
            connection = self._connection
            abort(connection)  # its thread ends at once (or after its connect timeout)
            if connection is None:
                return NodeStatus(url, PublishTimeoutError(
                    f"cannot connect to RabbitMQ at {url}: no connection within the "
                    "readiness deadline (a hung node?)"))
            return NodeStatus(url, PublishTimeoutError(
                f"{url}: no answer to the probe within the readiness deadline "
                "(a frozen node?)"))
        return NodeStatus(url, self._error)

    def _run(self) -> None:
        quiet_pika()
        try:
            self._publish()
        except CrossdockError as exc:
            self._error = exc
        finally:
            if self._blocked:
                abort(self._connection)
            close_quietly(self._connection)

    def _publish(self) -> None:
        url = redact_url(self._url)
        params = connection_parameters(self._url, self._settings, "crossdock-readyz")
        try:
            self._connection = connection = pika.BlockingConnection(params)
        except PIKA_ERRORS as exc:
            raise translate(exc, f"cannot connect to RabbitMQ at {url}") from exc
        watch_blocking(connection, self._on_blocked, lambda: None)
        try:
            channel = connection.channel()
            channel.confirm_delivery()
            nowhere = f"{self._settings.queue_prefix}.readyz-probe.{uuid.uuid4().hex}"
            channel.basic_publish("", nowhere, b"", mandatory=True)
        except pika.exceptions.UnroutableError:
            pass  # returned and confirmed: the node takes publishes
        except PIKA_ERRORS as exc:
            if self._blocked:
                raise BrokerBlockedError(
                    f"{url}: RabbitMQ blocks publishing (a memory or disk alarm)") from exc
            raise translate(exc, f"probing RabbitMQ at {url}") from exc
        if self._blocked:
            raise BrokerBlockedError(f"{url}: RabbitMQ blocks publishing (a memory or disk alarm)")

    def _on_blocked(self) -> None:
        self._blocked = True
        abort(self._connection)  # the probe's publish would wait for the alarm to clear
