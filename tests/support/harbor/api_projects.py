"""`/api/v2.0/projects`: existence, lookup, search, create (protocols.md §8.1) and
webhook policies (§11.1).
"""

from __future__ import annotations

from typing import Any, cast

from flask import Blueprint, Response, jsonify, request

from tests.support.harbor.context import Services, services
from tests.support.harbor.paging import paged, parse_page
from tests.support.harbor.rbac import ROLE_IDS
from tests.support.harbor.security import (
    current_principal,
    forbidden,
    require_project,
    unauthorized,
)
from tests.support.harbor.state import HarborError, Principal, Project, iso
from tests.support.harbor.webhooks import EVENT_TYPES, PAYLOAD_FORMATS, PayloadFormat, Target

bp = Blueprint("harbor_projects", __name__, url_prefix="/api/v2.0")


def _is_name() -> bool:
    return request.headers.get("X-Is-Resource-Name", "").lower() == "true"


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise HarborError(400, "BAD_REQUEST", "the request body is not a JSON object")
    return body


def project_json(
    svc: Services, project: Project, who: Principal, catalog: list[str]
) -> dict[str, Any]:
    """A swagger `Project` with the caller's role ids; `repo_count` from the `catalog`."""
    role = svc.state.role(who, project)
    role_ids = [ROLE_IDS[role]] if role else []
    owner = svc.state.users.get(project.owner)
    prefix = project.name + "/"
    repo_count = sum(1 for name in catalog if name.startswith(prefix))
    return {
        "project_id": project.project_id,
        "owner_id": owner.user_id if owner else 0,
        "owner_name": project.owner,
        "name": project.name,
        "registry_id": None,
        "creation_time": iso(project.created),
        "update_time": iso(project.created),
        "deleted": False,
        "togglable": bool(role == "projectAdmin" or who.sysadmin),
        "current_user_role_id": role_ids[0] if role_ids else 0,
        "current_user_role_ids": role_ids or None,
        "repo_count": repo_count,
        "chart_count": 0,
        "metadata": {"public": "true" if project.public else "false"},
    }


def _matches(project: Project, name: str | None, query: str | None) -> bool:
    """`name=` is a substring match; `q=name=<p>` exact, `q=name=~<p>` fuzzy."""
    if name and name not in project.name:
        return False
    for clause in filter(None, (query or "").split(",")):
        key, _, value = clause.partition("=")
        if key != "name":
            continue
        if value.startswith("~"):
            if value[1:] not in project.name:
                return False
        elif value != project.name:
            return False
    return True


@bp.route("/projects", methods=["GET", "HEAD"])
def list_projects() -> Response:
    svc = services()
    who = current_principal(svc.state)
    if request.method == "HEAD":
        return _head_project(svc, who)
    page = parse_page(request.args)
    name, query = request.args.get("name"), request.args.get("q")
    catalog = svc.backend.catalog()
    found = [
        project_json(svc, p, who, catalog)
        for p in svc.state.visible_projects(who)
        if _matches(p, name, query)
    ]
    return paged(found, page)


def _head_project(svc: Services, who: Principal) -> Response:
    """200 exists / 404 not / 401 anonymous (Harbor's `HeadProject`)."""
    if not who.authenticated:
        raise unauthorized()
    name = request.args.get("project_name")
    if name is None:
        raise HarborError(422, "UNPROCESSABLE_ENTITY", "project_name in query is required")
    if svc.state.project(name, is_name=True) is None:
        raise HarborError(404, "NOT_FOUND", f"project {name} not found")
    return Response(status=200)


@bp.get("/projects/<name_or_id>")
def get_project(name_or_id: str) -> Response:
    svc = services()
    who = current_principal(svc.state)
    project = require_project(svc.state, who, name_or_id, "", "read", is_name=_is_name())
    return jsonify(project_json(svc, project, who, svc.backend.catalog()))


def _requested_public(body: dict[str, Any]) -> bool:
    """`metadata.public` must be the string "true"/"false"; the legacy bool still counts."""
    metadata = body.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise HarborError(400, "BAD_REQUEST", "metadata must be an object")
    public = metadata.get("public")
    if public is None:
        return bool(body.get("public") or False)
    if public not in ("true", "false"):
        raise HarborError(400, "BAD_REQUEST", f"invalid value of public: {public!r}")
    return bool(public == "true")


@bp.post("/projects")
def create_project() -> Response:
    """201 + `Location`; 401 anonymous; 403 robots or non-admins under `adminonly`."""
    svc = services()
    who = current_principal(svc.state)
    if not who.authenticated:
        raise unauthorized()
    if who.kind == "robot" or (svc.state.only_admin_create_project and not who.sysadmin):
        raise forbidden()
    body = _json_body()
    name = body.get("project_name")
    if not isinstance(name, str):
        raise HarborError(400, "BAD_REQUEST", "project_name is required")
    project = svc.state.create_project(name, public=_requested_public(body), owner=who.name)
    by_name = request.headers.get("X-Resource-Name-In-Location", "").lower() == "true"
    ref = project.name if by_name else str(project.project_id)
    response = Response(status=201)
    response.headers["Location"] = f"/api/v2.0/projects/{ref}"
    return response


# -- webhook policies ---------------------------------------------------------------------


def _target(raw: Any) -> Target:
    if not isinstance(raw, dict) or not str(raw.get("address") or "").startswith("http"):
        raise HarborError(400, "BAD_REQUEST", "each target needs an http(s) address")
    payload_format = raw.get("payload_format") or "Default"
    if payload_format not in PAYLOAD_FORMATS:
        raise HarborError(400, "BAD_REQUEST", f"unsupported payload format {payload_format}")
    return Target(
        address=str(raw["address"]),
        auth_header=str(raw.get("auth_header") or ""),
        payload_format=cast(PayloadFormat, payload_format),
        skip_cert_verify=bool(raw.get("skip_cert_verify", True)),
        type=str(raw.get("type") or "http"),
    )


@bp.post("/projects/<name_or_id>/webhook/policies")
def create_policy(name_or_id: str) -> Response:
    """Only projectAdmins (and system admins) may create policies."""
    svc = services()
    who = current_principal(svc.state)
    project = require_project(
        svc.state, who, name_or_id, "notification-policy", "create", is_name=_is_name()
    )
    body = _json_body()
    event_types = body.get("event_types") or []
    if not body.get("name") or not event_types or not body.get("targets"):
        raise HarborError(400, "BAD_REQUEST", "name, event_types and targets are required")
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        raise HarborError(400, "BAD_REQUEST", f"unsupported event types: {unknown}")
    targets = [_target(t) for t in body["targets"]]
    policy = svc.state.add_policy(project, str(body["name"]), targets, event_types, who.name)
    response = Response(status=201)
    response.headers["Location"] = (
        f"/api/v2.0/projects/{project.project_id}/webhook/policies/{policy.policy_id}"
    )
    return response


@bp.get("/projects/<name_or_id>/webhook/policies")
def list_policies(name_or_id: str) -> Response:
    svc = services()
    who = current_principal(svc.state)
    project = require_project(
        svc.state, who, name_or_id, "notification-policy", "list", is_name=_is_name()
    )
    policies = [p.to_json() for p in svc.state.project_policies(project)]
    return paged(policies, parse_page(request.args))


@bp.get("/projects/<name_or_id>/webhook/events")
def webhook_events(name_or_id: str) -> Response:
    svc = services()
    who = current_principal(svc.state)
    require_project(svc.state, who, name_or_id, "notification-policy", "read", is_name=_is_name())
    return jsonify(
        {
            "event_type": list(EVENT_TYPES),
            "notify_type": ["http", "slack"],
            "payload_formats": [
                {"notify_type": "http", "formats": list(PAYLOAD_FORMATS)},
                {"notify_type": "slack", "formats": ["Default"]},
            ],
        }
    )
