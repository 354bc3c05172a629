"""The web console under ``/ui/``: server-rendered pages on the receiver's port.

One blueprint, ``console``, holds what every page shares; each page is a
blueprint of its own nested in it (`receiver.console.pages.PAGES`), so its views
are ``console.<page>.<view>`` and its URLs ``/ui/<page>/…``. Before any view:

- a request that changes something must carry the session's CSRF token
  (`receiver.console.csrf`), else 403;
- a request from someone not signed in is sent to the sign-in page (htmx: with
  ``HX-Redirect``); the sign-in page and static files are public. Without an
  admin token (or a secret key to sign sessions with) the sign-in page says the
  console is off and how to turn it on.

Every response gets the security headers (`receiver.console.security`); every
error is a page (`receiver.console.errors`); unknown ``/ui/`` paths are a 404
page. `init_console` wires it into the app: the session interface, the
templates' settings, the blueprints, and ``/`` redirecting to ``/ui/``.
"""

from __future__ import annotations

import functools
import json
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from flask import Blueprint, Flask, current_app, redirect, request, url_for
from jinja2 import StrictUndefined
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from receiver.console import context, signin
from receiver.console.csrf import check_csrf, csrf_field, csrf_token
from receiver.console.errors import register_console_errors
from receiver.console.htmx import is_htmx
from receiver.console.navigation import NAVIGATION
from receiver.console.pages import PAGES
from receiver.console.security import add_security_headers
from receiver.console.sessions import ConsoleSessionInterface, is_signed_in, session_interface
from shared.settings import Settings

blueprint = Blueprint("console", __name__, url_prefix="/ui", template_folder="templates",
                      static_folder="static", static_url_path="/static")
entry = Blueprint("console_entry", __name__)

#: Views anyone may open: the sign-in page and static files.
PUBLIC_ENDPOINTS = frozenset({"console.auth.sign_in", "console.static"})

#: htmx's settings (the ``htmx-config`` meta tag), for the Content-Security-Policy:
#: no eval (so no ``hx-on``, ``js:`` values or trigger filters), no inline scripts
#: or indicator styles; error answers are swapped in too (they carry their own
#: target, the alert area), so htmx logs no console error for a 4xx or 5xx.
HTMX_CONFIG = {
    "allowEval": False,
    "allowScriptTags": False,
    "includeIndicatorStyles": False,
    "selfRequestsOnly": True,
    "historyCacheSize": 0,
    "responseHandling": [
        {"code": "204", "swap": False},
        {"code": "[2345]..", "swap": True, "error": False},
    ],
}
_HTMX_CONFIG_JSON = json.dumps(HTMX_CONFIG, separators=(",", ":"))


def init_console(app: Flask, settings: Settings) -> None:
    """Serve the console from `app`."""
    app.session_interface = ConsoleSessionInterface(settings)
    app.jinja_options = {**app.jinja_options, "undefined": StrictUndefined}
    app.register_blueprint(blueprint)
    app.register_blueprint(entry)


def console_enabled() -> bool:
    """An admin token to sign in with, and a key to sign sessions with."""
    return bool(context.settings().admin_token) and session_interface(current_app).available


@blueprint.before_request
def _guard() -> Response | None:
    check_csrf()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if console_enabled() and is_signed_in():
        return None
    target = request.path + (f"?{request.query_string.decode()}" if request.query_string else "")
    sign_in = url_for("console.auth.sign_in", next=target if request.method == "GET" else None)
    if is_htmx():
        response = Response(status=401)
        response.headers["HX-Redirect"] = sign_in
        return response
    return redirect(sign_in, code=303)


@blueprint.context_processor
def _template_globals() -> dict[str, Any]:
    return {
        "csrf_token": csrf_token,
        "csrf_field": csrf_field,
        "navigation": NAVIGATION,
        "signed_in": console_enabled() and is_signed_in(),
        "htmx_config": _HTMX_CONFIG_JSON,
        "crossdock_version": _version(),
    }


@blueprint.get("/")
def home() -> Response:
    return redirect(url_for("console.projects.index"))


@blueprint.route("/<path:unknown>", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
def not_found(unknown: str) -> Response:
    """Unknown ``/ui/`` paths: a 404 page, through the console's error handlers."""
    raise NotFound()


@entry.get("/")
@entry.get("/ui")
def root() -> Response:
    """``/`` and ``/ui`` lead to the console (the latter without routing's own
    redirect, which would skip the console's headers)."""
    return redirect(url_for("console.home"))


@functools.cache
def _version() -> str:
    try:
        return version("crossdock")
    except PackageNotFoundError:
        return "dev"


blueprint.after_request(add_security_headers)
entry.after_request(add_security_headers)
register_console_errors(blueprint)
blueprint.register_blueprint(signin.blueprint)
for _page in PAGES:
    blueprint.register_blueprint(_page)
