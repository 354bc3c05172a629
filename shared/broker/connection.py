"""Opening pika connections and turning pika's exceptions into ours.

`amqp_url` may list several nodes: a connection goes to the first that takes it,
each node getting one attempt of `amqp_connect_timeout` seconds.

A `pika.BlockingConnection` is not thread-safe: each thread opens its own, and
only `add_callback_threadsafe` may be called from another thread.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pika
import pika.exceptions
from pika.adapters.utils.connection_workflow import (
    AMQPConnectorException,
    AMQPConnectorStackTimeout,
)

from shared.amqp_urls import redact_url, split_amqp_urls
from shared.broker.errors import BrokerAccessDeniedError, BrokerError, BrokerUnavailableError
from shared.broker.nodes import NodeList
from shared.errors import ConfigurationError
from shared.settings import Settings

__all__ = ["PIKA_ERRORS", "abort", "close_quietly", "connect", "describe", "node_failed",
           "open_connection", "pika_errors", "redact_url", "translate", "watch_blocking"]

# What pika raises for a broken connection: its own errors, the connection
# workflow's (a stack timeout, a failed handshake), and socket errors such as
# `socket.gaierror` for a host that does not resolve.
PIKA_ERRORS: tuple[type[BaseException], ...] = (
    pika.exceptions.AMQPError, AMQPConnectorException, OSError,
)
# Applied unless a URL sets them: a publish must not hang forever on a broker
# that blocks publishers (memory or disk alarm). Each node gets one attempt of
# `amqp_connect_timeout` seconds; the next node is tried at once.
_BLOCKED_CONNECTION_TIMEOUT = 30.0
# AMQP reply codes after which reconnecting cannot help: the login or the
# virtual host is refused (403 ACCESS_REFUSED, 530 NOT_ALLOWED).
_ACCESS_CODES = frozenset({403, 530})

_node_lists: dict[str, NodeList] = {}
_node_lists_lock = threading.Lock()


def nodes_of(settings: Settings) -> NodeList:
    """This process's order of `settings.amqp_url`'s nodes (shuffled on first use).

    Raises `ConfigurationError` for a malformed list.
    """
    with _node_lists_lock:
        found = _node_lists.get(settings.amqp_url)
        if found is None:
            try:
                urls = split_amqp_urls(settings.amqp_url)
            except ValueError as exc:
                raise ConfigurationError(f"setting amqp_url: {exc}") from None
            found = _node_lists[settings.amqp_url] = NodeList(urls)
        return found


def node_failed(settings: Settings, url: str) -> None:
    """An established connection to `url` was lost: try the other nodes first for a while."""
    nodes_of(settings).failed(url)


def connection_parameters(url: str, settings: Settings, name: str) -> pika.URLParameters:
    """Parameters for one node's `url`; `name` shows in the RabbitMQ console.

    Raises `ConfigurationError` for options pika refuses.
    """
    try:
        params = pika.URLParameters(url)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"setting amqp_url: {redact_url(url)}: {exc}") from None
    timeout = settings.amqp_connect_timeout
    defaults: dict[str, float] = {
        "blocked_connection_timeout": _BLOCKED_CONNECTION_TIMEOUT,
        "socket_timeout": timeout,
        "stack_timeout": timeout,
        "connection_attempts": 1,
    }
    given = parse_qs(urlsplit(url).query)
    for key, value in defaults.items():
        if key not in given:
            setattr(params, key, value)
    params.client_properties = {"connection_name": name}
    return params


def open_connection(settings: Settings, name: str) -> tuple[Any, str]:
    """Open a `pika.BlockingConnection` to the first node that takes it.

    Every node is tried once, in `nodes_of` order. Returns the connection and its
    node's URL. Raises `BrokerUnavailableError` (no node reachable),
    `BrokerAccessDeniedError` (a node refused the credentials or virtual host) or
    `ConfigurationError` (a malformed URL).
    """
    quiet_pika()
    nodes = nodes_of(settings)
    failures: list[BrokerError] = []
    for url in nodes.order():
        params = connection_parameters(url, settings, name)
        try:
            connection = pika.BlockingConnection(params)
        except PIKA_ERRORS as exc:
            nodes.failed(url)
            failures.append(translate(exc, f"cannot connect to RabbitMQ at {redact_url(url)}"))
            continue
        nodes.succeeded(url)
        return connection, url
    message = "; ".join(str(failure) for failure in failures)
    if any(isinstance(failure, BrokerAccessDeniedError) for failure in failures):
        raise BrokerAccessDeniedError(message)
    raise BrokerUnavailableError(message)


def connect(settings: Settings, name: str) -> Any:
    """Open a `pika.BlockingConnection` to one of the nodes; raises like `open_connection`."""
    connection, _url = open_connection(settings, name)
    return connection


def translate(exc: BaseException, context: str) -> BrokerError:
    """Our error for one of `PIKA_ERRORS`; `context` says what was being done."""
    detail = redact_url(describe(exc))
    if isinstance(
        exc,
        pika.exceptions.ProbableAuthenticationError | pika.exceptions.AuthenticationError,
    ):
        return BrokerAccessDeniedError(
            f"{context}: login refused ({detail}); check the user and password in amqp_url"
        )
    if isinstance(exc, pika.exceptions.ProbableAccessDeniedError):
        return BrokerAccessDeniedError(
            f"{context}: virtual host refused ({detail}); check the vhost in amqp_url "
            "and the user's permissions"
        )
    code = getattr(exc, "reply_code", None)
    if (
        isinstance(exc, pika.exceptions.ConnectionClosedByBroker | pika.exceptions.ChannelClosed)
        and code in _ACCESS_CODES
    ):
        return BrokerAccessDeniedError(f"{context}: access refused ({detail})")
    return BrokerUnavailableError(f"{context}: {detail}")


@contextmanager
def pika_errors(context: str) -> Iterator[None]:
    """Re-raise any pika exception inside the block as one of ours."""
    try:
        yield
    except PIKA_ERRORS as exc:
        raise translate(exc, context) from exc


def describe(exc: BaseException) -> str:
    """A one-line account of a pika exception (pika's str() is sometimes empty)."""
    code = getattr(exc, "reply_code", None)
    text = getattr(exc, "reply_text", None)
    if code is not None and text:
        return f"{type(exc).__name__} ({code}) {text}"
    if isinstance(exc, pika.exceptions.AMQPError):
        return str(exc) or repr(exc)
    if isinstance(exc, AMQPConnectorStackTimeout):
        return "no complete connection and handshake within amqp_connect_timeout (hung node?)"
    return f"{type(exc).__name__}: {exc}" if str(exc) else repr(exc)


def close_quietly(connection: Any) -> None:
    """Close a connection that may already be dead; never raises."""
    try:
        if connection is not None and connection.is_open:
            connection.close()
    except Exception:  # noqa: S110 - a broken connection is being thrown away anyway
        pass


def watch_blocking(
    connection: Any, on_blocked: Callable[[], None], on_unblocked: Callable[[], None]
) -> None:
    """Call `on_blocked`/`on_unblocked` (in the connection's thread) as soon as RabbitMQ
    says it blocks or unblocks this connection (a memory or disk alarm).

    Registered on pika's underlying connection: BlockingConnection's own callbacks
    run only between calls, never while a publish waits for its confirm. RabbitMQ
    tells a connection only once it publishes.
    """
    impl = connection._impl  # private: see above
    impl.add_on_connection_blocked_callback(lambda _conn, _frame: on_blocked())
    impl.add_on_connection_unblocked_callback(lambda _conn, _frame: on_unblocked())


def abort(connection: Any) -> None:
    """Shut a connection's socket down, from any thread; never raises.

    For a connection that cannot be closed in time: a blocked one (RabbitMQ reads
    nothing from it, not even Connection.Close) or one to a frozen node. The thread
    waiting in it sees the stream lost at once and raises.
    """
    try:
        sock = connection._impl._transport._sock  # private: pika offers no handle
        sock.shutdown(socket.SHUT_RDWR)
    except (AttributeError, OSError):
        pass  # already closed


def quiet_pika() -> None:
    """pika logs every failed connect at ERROR; we raise and log our own errors instead."""
    logging.getLogger("pika").setLevel(logging.CRITICAL)

