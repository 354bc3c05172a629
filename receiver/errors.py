"""Errors as JSON, never a traceback: ``{"error": {"code", "message", "fields"?}}``.

Field errors from marshmallow give 400 (422 would also do; 400 is what the
API description says), unknown records 404, conflicts 409, a store or broker
that is down 503 with `Retry-After`.
"""

from __future__ import annotations

from typing import Any

import structlog
from flask import Flask, Response, jsonify
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from shared.errors import ConfigurationError, TransientError
from shared.store import ConflictError, RecordNotFoundError

log = structlog.get_logger("crossdock.receiver")


def error_response(status: int, code: str, message: str, **extra: Any) -> Response:
    response = jsonify({"error": {"code": code, "message": message, **extra}})
    response.status_code = status
    return response


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
        log.warning("dependency unavailable", error=str(exc))
        response = error_response(503, "unavailable", str(exc))
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(500, "internal", "internal error; see the receiver's log")
