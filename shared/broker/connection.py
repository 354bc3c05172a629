"""Opening pika connections and turning pika's exceptions into ours.

A `pika.BlockingConnection` is not thread-safe: each thread opens its own, and
only `add_callback_threadsafe` may be called from another thread.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import pika
import pika.exceptions

from shared.broker.errors import BrokerAccessDeniedError, BrokerError, BrokerUnavailableError
from shared.settings import Settings

# Applied unless amqp_url sets them: a publish must not hang forever on a broker
# that blocks publishers (memory or disk alarm), nor a connect on a silent host.
_DEFAULTS: dict[str, float] = {
    "blocked_connection_timeout": 30.0,
    "socket_timeout": 5.0,
    "stack_timeout": 10.0,
}
# AMQP reply codes after which reconnecting cannot help: the login or the
# virtual host is refused (403 ACCESS_REFUSED, 530 NOT_ALLOWED).
_ACCESS_CODES = frozenset({403, 530})


def redact_url(url: str) -> str:
    """`url` without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username}@{host}" if parts.username else host
    return urlunsplit(parts._replace(netloc=netloc))


def connection_parameters(settings: Settings, name: str) -> pika.URLParameters:
    """Parameters from `settings.amqp_url`; `name` shows in the RabbitMQ console."""
    params = pika.URLParameters(settings.amqp_url)
    given = parse_qs(urlsplit(settings.amqp_url).query)
    for key, value in _DEFAULTS.items():
        if key not in given:
            setattr(params, key, value)
    params.client_properties = {"connection_name": name}
    return params


def connect(settings: Settings, name: str) -> Any:
    """Open a `pika.BlockingConnection`.

    Raises `BrokerUnavailableError` (unreachable, refused) or
    `BrokerAccessDeniedError` (credentials or virtual host refused).
    """
    quiet_pika()
    with pika_errors(f"cannot connect to RabbitMQ at {redact_url(settings.amqp_url)}"):
        return pika.BlockingConnection(connection_parameters(settings, name))


def translate(exc: pika.exceptions.AMQPError, context: str) -> BrokerError:
    """Our error for a pika exception; `context` says what was being done."""
    detail = describe(exc)
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
    except pika.exceptions.AMQPError as exc:
        raise translate(exc, context) from exc


def describe(exc: BaseException) -> str:
    """A one-line account of a pika exception (pika's str() is sometimes empty)."""
    code = getattr(exc, "reply_code", None)
    text = getattr(exc, "reply_text", None)
    if code is not None and text:
        return f"{type(exc).__name__} ({code}) {text}"
    return str(exc) or repr(exc)


def close_quietly(connection: Any) -> None:
    """Close a connection that may already be dead; never raises."""
    try:
        if connection is not None and connection.is_open:
            connection.close()
    except Exception:  # noqa: S110 - a broken connection is being thrown away anyway
        pass


def quiet_pika() -> None:
    """pika logs every failed connect at ERROR; we raise and log our own errors instead."""
    logging.getLogger("pika").setLevel(logging.CRITICAL)

