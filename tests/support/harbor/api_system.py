"""`/api/v2.0` system and user endpoints: the test-connection checks of protocols.md §11.4.

ping (no auth, `Pong` as text/plain), health, systeminfo (version fields only for
accepted credentials; bad credentials fall back to anonymous, no 401),
`users/current` (401 anonymous, 412 robots) and `users/current/permissions`.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, jsonify, request

from tests.support.harbor.context import services
from tests.support.harbor.rbac import SELF
from tests.support.harbor.security import current_principal, unauthorized
from tests.support.harbor.state import HarborError, iso

HARBOR_VERSION = "v2.13.0-crossdock-fake"
_PROJECT_SCOPE = re.compile(r"^/project/(\d+)$")

bp = Blueprint("harbor_system", __name__, url_prefix="/api/v2.0")


@bp.get("/ping")
def ping() -> Response:
    return Response("Pong", mimetype="text/plain")


@bp.get("/health")
def health() -> Response:
    registry_ok = services().backend.ping()
    components = [
        {"name": "core", "status": "healthy"},
        {"name": "jobservice", "status": "healthy"},
        {"name": "registry", "status": "healthy" if registry_ok else "unhealthy"},
    ]
    if not registry_ok:
        components[-1]["error"] = "registry did not answer /v2/"
    overall = "healthy" if registry_ok else "unhealthy"
    return jsonify({"status": overall, "components": components})


@bp.get("/systeminfo")
def systeminfo() -> Response:
    svc = services()
    who = current_principal(svc.state)
    info: dict[str, Any] = {
        "auth_mode": "db_auth",
        "primary_auth_mode": False,
        "project_creation_restriction": (
            "adminonly" if svc.state.only_admin_create_project else "everyone"
        ),
        "self_registration": False,
        "has_ca_root": False,
    }
    if who.authenticated:
        info |= {
            "harbor_version": HARBOR_VERSION,
            "external_url": svc.url,
            "registry_url": svc.host,
            "read_only": False,
            "notification_enable": svc.notifier.enabled,
            "registry_storage_provider_name": "filesystem",
            "with_chartmuseum": False,
            "with_notary": False,
        }
    return jsonify(info)


@bp.get("/users/current")
def current_user() -> Response:
    svc = services()
    who = current_principal(svc.state)
    if not who.authenticated:
        raise unauthorized()
    if who.kind != "user":
        raise HarborError(412, "PRECONDITION", "the security context is not a local user")
    user = svc.state.users[who.name]
    return jsonify(
        {
            "user_id": user.user_id,
            "username": user.name,
            "email": f"{user.name}@example.com",
            "realname": user.name,
            "comment": "",
            "sysadmin_flag": user.sysadmin,
            "admin_role_in_auth": False,
            "creation_time": iso(user.created),
            "update_time": iso(user.created),
        }
    )


@bp.get("/users/current/permissions")
def current_permissions() -> Response:
    """`[{resource, action}]` in a `/project/<id>` scope; a name or no scope gives `[]`."""
    svc = services()
    who = current_principal(svc.state)
    if not who.authenticated:
        raise unauthorized()
    scope = request.args.get("scope", "")
    match = _PROJECT_SCOPE.match(scope)
    project = svc.state.project(match.group(1)) if match else None
    if project is None:
        return jsonify([])
    relative = request.args.get("relative", "false").lower() == "true"
    pairs = sorted(p for p in svc.state.permissions(who, project) if p[0] != SELF)
    return jsonify(
        [
            {"resource": resource if relative else f"{scope}/{resource}", "action": action}
            for resource, action in pairs
        ]
    )
