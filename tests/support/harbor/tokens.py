"""Harbor's token service, `GET /service/token` (protocols.md §1.3, §11.4).

Not the Distribution intersection: each `repository` scope gets every action the
caller may do on the *project's* repositories, whatever was asked; a missing
project or an unknown scope type gets `actions: []` with 200. Bad credentials with
a scope run as anonymous; 401 only without scope and valid login. The response
sets a `sid` session cookie, as Harbor's does.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify, request

from tests.support.harbor.context import services
from tests.support.harbor.security import SESSION_COOKIE, current_principal, error
from tests.support.harbor.state import HarborState, Principal
from tests.support.token_server import Access, TokenRequest, TokenServer

SERVICE = "harbor-registry"
ISSUER = "harbor-token-issuer"
EXPIRES_IN = 1800  # `token_expiration` (30 min) x 60

bp = Blueprint("harbor_tokens", __name__)


class HarborSigner(TokenServer):
    """The tests' token signer with Harbor's service, issuer and lifetime.

    It never listens itself: its `realm` is the fake's `/service/token`, so the
    registry's challenge sends clients to the fake.
    """

    def __init__(self, cert_dir: Path, realm: str) -> None:
        super().__init__(cert_dir, service=SERVICE, issuer=ISSUER, expires_in=EXPIRES_IN)
        self._realm = realm

    @property
    def realm(self) -> str:
        return self._realm


def resource_actions(scope: str) -> tuple[str, str, list[str]]:
    """Harbor's `GetResourceActions`: type, name (may hold `:`), actions."""
    items = scope.split(":")
    if len(items) == 1:
        return items[0], "", []
    if len(items) == 2:
        return items[0], items[1], []
    actions = [a for a in items[-1].split(",") if a] if items[-1] else []
    return items[0], ":".join(items[1:-1]), actions


def _granted(
    state: HarborState, who: Principal, type_: str, name: str, asked: list[str]
) -> list[str]:
    """Actions for one scope. Harbor answers 500 for a repository name without a
    project part or a registry scope other than the catalog; the fake grants `[]`.
    """
    if type_ == "registry":
        # registryFilter: the catalog keeps the asked actions for admins only.
        return asked if name == "catalog" and who.sysadmin else []
    if type_ != "repository" or "/" not in name:
        return []
    project = state.project(name.split("/", 1)[0], is_name=True)
    return state.registry_actions(who, project) if project else []


def grant(state: HarborState, who: Principal, scopes: Iterable[str]) -> Access:
    """The `access` claim Harbor puts in the token for `scopes` (creator.go)."""
    access: Access = []
    for scope in scopes:
        if not scope:
            continue
        type_, name, asked = resource_actions(scope)
        actions = _granted(state, who, type_, name, asked)
        access.append({"type": type_, "name": name, "actions": actions})
    return access


def token_body(signer: TokenServer, who: Principal, access: Access) -> dict[str, Any]:
    """`{"token","access_token":"","expires_in":1800,"issued_at"}` (§11.4)."""
    issued = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "token": signer.mint_token(who.name, access),
        "access_token": "",
        "expires_in": EXPIRES_IN,
        "issued_at": issued,
    }


def token_claims(token: str) -> dict[str, Any]:
    """The unverified claims of a JWT (read after the registry accepted it)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return {}
    return claims if isinstance(claims, dict) else {}


@bp.get("/service/token")
def token() -> Response:
    svc = services()
    scopes = [s for value in request.args.getlist("scope") for s in value.split(" ") if s]
    service = request.args.get("service")
    who = current_principal(svc.state)
    if not who.authenticated and not scopes:
        svc.signer.requests.append(TokenRequest(None, service, (), 401))
        return error(401, "UNAUTHORIZED", "Unauthorized")
    if service != SERVICE:
        svc.signer.requests.append(TokenRequest(who.name or None, service, tuple(scopes), 400))
        return error(400, "BAD_REQUEST", f"Unable to handle service: {service}")
    body = token_body(svc.signer, who, grant(svc.state, who, scopes))
    svc.signer.requests.append(TokenRequest(who.name or None, service, tuple(scopes), 200))
    response = jsonify(body)
    response.set_cookie(SESSION_COOKIE, uuid.uuid4().hex, httponly=True, path="/")
    return response
