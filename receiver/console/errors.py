"""Errors as pages, never a traceback: the console's counterpart of `receiver.errors`.

The same classes as the API's handlers, answered with the same status codes, as an
HTML page, or for an htmx request as an alert fragment in the page's alert area.
A store or broker that is down is a 503 page with ``Retry-After``.
"""

from __future__ import annotations

import structlog
from flask import Blueprint, make_response, render_template
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from receiver.console.forms import field_errors
from receiver.console.htmx import alert_fragment, is_htmx
from receiver.errors import RETRY_AFTER, unavailable_reason
from shared.errors import ConfigurationError, TransientError
from shared.store import ConflictError, RecordNotFoundError

log = structlog.get_logger("crossdock.receiver.console")

_UNAVAILABLE = {
    "store_busy": "The store is unavailable: the database is busy or cannot be reached.",
    "unreachable": "A service the console needs (RabbitMQ or the store) cannot be reached.",
    "timeout": "A service the console needs (RabbitMQ or the store) did not answer in time.",
    "blocked": "RabbitMQ has a resource alarm and takes no messages for now.",
}


def error_page(status: int, title: str, message: str, *, detail: str | None = None,
               fields: dict[str, list[str]] | None = None) -> Response:
    """The error page (or, for htmx, the alert fragment) with `status`."""
    context = {"status": status, "title": title, "message": message, "detail": detail,
               "fields": fields or {}}
    try:
        if is_htmx():
            return alert_fragment(render_template("console/fragments/alert.html", **context),
                                  status)
        response = make_response(render_template("console/error.html", **context), status)
    except Exception:  # a page that can't render must not become a traceback
        log.exception("console: cannot render the error page", status=status)
        response = make_response(f"{status} {title}: {message}\n", status)
        response.mimetype = "text/plain"
    return response


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    if status == 404:
        message = "There is no such page in the console."
    else:
        message = exc.description or exc.name
    response = error_page(status, exc.name, message)
    if status == 405 and exc.valid_methods:  # type: ignore[attr-defined]
        response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
    return response


def _invalid(exc: ValidationError) -> Response:
    return error_page(400, "Invalid input", "Some fields are not valid.",
                      fields=field_errors(exc))


def _not_found(exc: RecordNotFoundError) -> Response:
    return error_page(404, "Not found", str(exc))


def _conflict(exc: ConflictError) -> Response:
    return error_page(409, "Conflict", str(exc))


def _configuration(exc: ConfigurationError) -> Response:
    return error_page(400, "Invalid input", str(exc))


def _unavailable(exc: TransientError) -> Response:
    reason = unavailable_reason(exc)
    log.warning("console: dependency unavailable", error=str(exc), reason=reason)
    response = error_page(503, "Service unavailable", _UNAVAILABLE.get(reason, _UNAVAILABLE[
        "unreachable"]), detail=f"{exc!s} (reason: {reason}). Try again in a moment.")
    response.headers["Retry-After"] = RETRY_AFTER
    return response


def _unexpected(exc: Exception) -> Response:
    log.exception("console: unhandled error")
    return error_page(500, "Internal error",
                      "Something went wrong on the receiver; its log says what.")


#: Each error class the app's handlers (`receiver.errors`) know, answered as a page.
HANDLERS = (
    (HTTPException, _http_error),
    (ValidationError, _invalid),
    (RecordNotFoundError, _not_found),
    (ConflictError, _conflict),
    (ConfigurationError, _configuration),
    (TransientError, _unavailable),
    (Exception, _unexpected),
)


def register_console_errors(blueprint: Blueprint) -> None:
    """Flask looks for a handler class by class along the error's MRO, the
    blueprint's before the app's: every class the app handles needs one here too,
    or the console would answer that error as JSON."""
    for error_class, handler in HANDLERS:
        blueprint.register_error_handler(error_class, handler)
