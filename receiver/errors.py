"""Errors as JSON, never a traceback: ``{"error": {"code", "message", "fields"?}}``.

Field errors from marshmallow give 400 (422 would also do; 400 is what the
API description says), unknown records 404, conflicts 409, a store or broker
that is down 503 with `Retry-After` and a ``reason``: ``blocked`` (a RabbitMQ
resource alarm), ``unreachable`` (RabbitMQ), ``timeout`` (the deadline passed)
or ``store_busy`` (the database).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import structlog
from flask import Flask, Response, jsonify
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from shared.broker import BrokerBlockedError, PublishTimeoutError
from shared.deadline import DeadlineExceededError
from shared.errors import ConfigurationError, TransientError
from shared.store import ConflictError, RecordNotFoundError, StoreError, StoreUnavailableError

log = structlog.get_logger("crossdock.receiver")


def error_response(status: int, code: str, message: str, **extra: Any) -> Response:
    response = jsonify({"error": {"code": code, "message": message, **extra}})
    response.status_code = status
    return response


RETRY_AFTER = "5"


def unavailable_reason(exc: BaseException) -> str:
    """Why a dependency failed, for a 503's body, log line and metric."""
    for error in _causes(exc):
        if isinstance(error, BrokerBlockedError):
            return "blocked"
        if isinstance(error, DeadlineExceededError | PublishTimeoutError):
            return "timeout"
        if isinstance(error, StoreUnavailableError | StoreError):
            return "store_busy"
    return "unreachable"


def unavailable_response(reason: str, message: str, **extra: Any) -> Response:
    """503 with `Retry-After` and the reason: the client sends the request again."""
    response = error_response(503, "unavailable", message, reason=reason, **extra)
    response.headers["Retry-After"] = RETRY_AFTER
    return response


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, then what it was raised from, and so on."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        code = (exc.name or "error").lower().replace(" ", "_")
        response = error_response(exc.code or 500, code, exc.description or exc.name)
        if exc.code == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        return response

    @app.errorhandler(ValidationError)
    def validation_error(exc: ValidationError) -> Response:
        return error_response(400, "invalid", "the request has invalid fields",
                              fields=exc.normalized_messages())  # type: ignore[no-untyped-call]

    @app.errorhandler(RecordNotFoundError)
    def not_found(exc: RecordNotFoundError) -> Response:
        return error_response(404, "not_found", str(exc))

    @app.errorhandler(ConflictError)
    def conflict(exc: ConflictError) -> Response:
        return error_response(409, "conflict", str(exc))

    @app.errorhandler(ConfigurationError)
    def configuration(exc: ConfigurationError) -> Response:
        return error_response(400, "invalid", str(exc))

    @app.errorhandler(TransientError)
    def unavailable(exc: TransientError) -> Response:
        reason = unavailable_reason(exc)
        log.warning("dependency unavailable", error=str(exc), reason=reason)
        return unavailable_response(reason, str(exc))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(500, "internal", "internal error; see the receiver's log")
