"""`create_app(services)`: the fake's Flask app, one blueprint per Harbor area."""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from tests.support.harbor import api_projects, api_repos, api_system, proxy, tokens
from tests.support.harbor.context import EXTENSION, Services
from tests.support.harbor.security import csrf_violation, error, from_harbor_error, request_id
from tests.support.harbor.state import HarborError


def _csrf() -> Response | None:
    return csrf_violation()


def _stamp(response: Response) -> Response:
    response.headers.setdefault("X-Request-Id", request_id())
    return response


def _http_error(exc: HTTPException) -> Response:
    """Harbor-shaped errors for unknown routes and methods under `/api/`."""
    status = exc.code or 500
    if not request.path.startswith("/api/"):
        return Response(exc.description or exc.name, status=status, mimetype="text/plain")
    code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(status, "UNKNOWN")
    return error(status, code, exc.description or exc.name)


def create_app(services: Services) -> Flask:
    """Build the app around `services`; nothing listens until the caller serves it."""
    app = Flask("harbor_fake")
    app.extensions[EXTENSION] = services
    app.json.sort_keys = False  # type: ignore[attr-defined]
    for blueprint in (api_system.bp, api_projects.bp, api_repos.bp, tokens.bp, proxy.bp):
        app.register_blueprint(blueprint)
    app.before_request(_csrf)
    app.after_request(_stamp)
    app.register_error_handler(HarborError, from_harbor_error)
    app.register_error_handler(HTTPException, _http_error)
    return app
