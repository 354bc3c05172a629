"""CSRF tokens: one random token per session, in every form that changes something.

Forms carry it as the hidden field ``csrf_token`` (the `csrf_field()` macro); htmx
requests as the ``X-CSRF-Token`` header, which static/console.js sets on every
htmx request from the page's ``<meta name="csrf-token">``. A POST, PUT, PATCH or
DELETE to the console without the session's token is refused with 403. The
SameSite=Strict cookie already keeps other sites' requests out; the token also
covers a browser that ignores SameSite.
"""

from __future__ import annotations

import hmac
import secrets

from flask import request, session
from flask.sessions import NullSession
from markupsafe import Markup, escape
from werkzeug.exceptions import Forbidden

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
_SESSION_KEY = "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfRefused(Forbidden):
    """A request that changes something came without the session's CSRF token."""

    description = ("This form had expired, or it was not sent from a page of this "
                   "console. Reload the page and try again.")


def csrf_token() -> str:
    """This session's token, made on first use; empty without a session (no key)."""
    if isinstance(session, NullSession):
        return ""
    token = session.get(_SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[_SESSION_KEY] = token
    return token


def csrf_field() -> Markup:
    """The hidden input every changing form carries."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(FIELD, escape(csrf_token()))


def check_csrf() -> None:
    """Refuse a changing request without this session's token (`CsrfRefused`, 403)."""
    if request.method in SAFE_METHODS:
        return
    expected = session.get(_SESSION_KEY)
    sent = request.headers.get(HEADER) or request.form.get(FIELD)
    if not isinstance(expected, str) or not expected or not sent:
        raise CsrfRefused()
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRefused()
