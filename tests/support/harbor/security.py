"""Per-request security: Basic credentials, the CSRF rule, error bodies, request ids.

Harbor's security middleware tries a robot, then a user; credentials that fail fall
back to anonymous without a 401 (protocols.md §11.4 step 2, §11.5). The CSRF check
applies to unsafe methods on `/api/`, `/v2/` and `/service/` only when the request
carries a session cookie (§8.1).
"""

from __future__ import annotations

import base64
import binascii
import uuid

from flask import Response, g, jsonify, request

from tests.support.harbor.state import (
    ANONYMOUS,
    HarborError,
    HarborState,
    Principal,
    Project,
)

SESSION_COOKIE = "sid"
CSRF_HEADER = "X-Harbor-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_CSRF_PREFIXES = ("/api/", "/v2/", "/service/")


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """(user, password) from a Basic `Authorization` header, or None."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def principal(state: HarborState, authorization: str | None) -> Principal:
    """The caller of this request: a valid Basic login, else anonymous."""
    creds = basic_credentials(authorization)
    if creds is None:
        return ANONYMOUS
    return state.authenticate(*creds) or ANONYMOUS


def current_principal(state: HarborState) -> Principal:
    """`principal()` for the current Flask request, computed once."""
    if "harbor_principal" not in g:
        g.harbor_principal = principal(state, request.headers.get("Authorization"))
    found: Principal = g.harbor_principal
    return found


def request_id() -> str:
    """The request's `X-Request-Id`, or a new one (Harbor echoes or invents it)."""
    if "harbor_request_id" not in g:
        g.harbor_request_id = request.headers.get("X-Request-Id") or str(uuid.uuid4())
    rid: str = g.harbor_request_id
    return rid


def error(status: int, code: str, message: str) -> Response:
    """Harbor's error envelope `{"errors":[{"code","message"}]}` (protocols.md §6)."""
    response = jsonify({"errors": [{"code": code, "message": message}]})
    response.status_code = status
    return response


def from_harbor_error(exc: HarborError) -> Response:
    return error(exc.status, exc.code, exc.message)


def unauthorized() -> HarborError:
    return HarborError(401, "UNAUTHORIZED", "unauthorized")


def forbidden() -> HarborError:
    return HarborError(403, "FORBIDDEN", "forbidden")


def csrf_violation() -> Response | None:
    """403 `FORBIDDEN` "CSRF token invalid" for an unsafe request carrying `sid`."""
    if request.method in _SAFE_METHODS or SESSION_COOKIE not in request.cookies:
        return None
    if not request.path.startswith(_CSRF_PREFIXES):
        return None
    response = error(403, "FORBIDDEN", "CSRF token invalid")
    response.headers[CSRF_HEADER] = uuid.uuid4().hex
    return response


def require_project(
    state: HarborState,
    who: Principal,
    name_or_id: str,
    resource: str,
    action: str,
    *,
    is_name: bool = False,
) -> Project:
    """Harbor's `RequireProjectAccess`: the permission check runs before existence.

    A missing or forbidden project is 401 for anonymous callers and 403 for everyone
    else; only a system admin asking by numeric id learns 404 (protocols.md §11.2).
    """
    project = state.project(name_or_id, is_name=is_name)
    if project is not None and state.can(who, project, resource, action):
        return project
    if not who.authenticated:
        raise unauthorized()
    by_id = not is_name and name_or_id.isdigit()
    if project is None and who.sysadmin and by_id:
        raise HarborError(404, "NOT_FOUND", f"project {name_or_id} not found")
    raise forbidden()
