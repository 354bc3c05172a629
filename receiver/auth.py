"""Shared secrets, compared in constant time: the admin token and webhook secrets."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flask import request
from werkzeug.exceptions import Unauthorized

from receiver.services import current_services

F = TypeVar("F", bound=Callable[..., object])


def bearer_matches(header: str | None, secret: str) -> bool:
    """True when `header` is ``Bearer <secret>`` (or the bare secret). Constant time."""
    if not header or not secret:
        return False
    value = header[7:] if header[:7].lower() == "bearer " else header
    return hmac.compare_digest(value.strip().encode(), secret.encode())


def require_admin(view: F) -> F:
    """Refuse a management API call without ``Authorization: Bearer <admin_token>``."""

    @wraps(view)
    def wrapped(*args: object, **kwargs: object) -> object:
        token = current_services().settings.admin_token
        if not token:
            raise Unauthorized("the management API is off: set CROSSDOCK_ADMIN_TOKEN")
        if not bearer_matches(request.headers.get("Authorization"), token):
            raise Unauthorized("missing or wrong admin token (Authorization: Bearer ...)")
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]
