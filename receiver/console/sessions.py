"""The console's session: a signed cookie, and who is signed in.

The cookie is signed (not encrypted) with keys derived from ``secret_key``
(`shared.keys.derived_keys`, a label of its own), so every worker and every
receiver sharing the key accepts it, and it survives restarts. While the key is
rotated (``new,old``) the first signs and every one verifies. The cookie is
HttpOnly, SameSite=Strict, limited to ``/ui``, and Secure when the request came
over https or ``behind_tls_proxy`` says a TLS proxy serves the console.

Only console requests have a session: the API and webhooks get Flask's null
session and never read or set the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import Flask, Request, current_app, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature, URLSafeTimedSerializer

from shared.keys import CONSOLE_SESSION_LABEL, derived_keys
from shared.settings import Settings

COOKIE_NAME = "crossdock_console"
COOKIE_PATH = "/ui"
#: A session lasts this long after it was last written (sign-in, a flash message).
SESSION_SECONDS = 12 * 3600
_ADMIN = "admin"  # session key: the admin token's fingerprint


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions with crossdock's keys and cookie flags."""

    salt = "crossdock-console-session"
    digest_method = staticmethod(hashlib.sha256)

    def __init__(self, settings: Settings) -> None:
        self._keys = derived_keys(settings.secret_key, CONSOLE_SESSION_LABEL)
        self._behind_tls_proxy = settings.behind_tls_proxy
        self._admin_token = settings.admin_token

    @property
    def available(self) -> bool:
        """Whether sessions can be signed (a secret key is configured)."""
        return bool(self._keys)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not self._keys:
            return None
        # itsdangerous signs with the last key and verifies with any.
        return URLSafeTimedSerializer(
            list(reversed(self._keys)), salt=self.salt, serializer=self.serializer,
            signer_kwargs={"key_derivation": "hmac", "digest_method": self.digest_method})

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        # Opened before routing: the cookie's path tells a console request.
        if request.path != COOKIE_PATH and not request.path.startswith(COOKIE_PATH + "/"):
            return None  # Flask's null session: the API and webhooks have none
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(COOKIE_NAME)
        if not value:
            return self.session_class()
        try:
            return self.session_class(serializer.loads(value, max_age=SESSION_SECONDS))
        except BadSignature:  # also an expired one
            return self.session_class()

    def get_cookie_name(self, app: Flask) -> str:
        return COOKIE_NAME

    def get_cookie_path(self, app: Flask) -> str:
        return COOKIE_PATH

    def get_cookie_httponly(self, app: Flask) -> bool:
        return True

    def get_cookie_samesite(self, app: Flask) -> str:
        return "Strict"

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure or self._behind_tls_proxy

    def admin_fingerprint(self) -> str:
        """What a signed-in session holds: an HMAC of the admin token under the first
        key, so that a new admin token signs every session out."""
        return _fingerprint(self._keys[0], self._admin_token)

    def holds_admin(self, data: dict[str, Any]) -> bool:
        """Whether session `data` was signed in with the current admin token."""
        held = data.get(_ADMIN)
        if not self._admin_token or not isinstance(held, str):
            return False
        return any(hmac.compare_digest(_fingerprint(key, self._admin_token), held)
                   for key in self._keys)


def _fingerprint(key: bytes, admin_token: str) -> str:
    return hmac.new(key, admin_token.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def session_interface(app: Flask) -> ConsoleSessionInterface:
    found = app.session_interface
    assert isinstance(found, ConsoleSessionInterface), "init_console was not called"
    return found


def is_signed_in() -> bool:
    """Whether this request's session was signed in with the current admin token."""
    return session_interface(current_app).holds_admin(dict(session))


def start_signed_in_session() -> None:
    """A new session for the admin (nothing of the anonymous one is kept)."""
    session.clear()
    session[_ADMIN] = session_interface(current_app).admin_fingerprint()


def end_session() -> None:
    session.clear()
