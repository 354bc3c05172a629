"""`/v2/`: Harbor's checks in front of the real registry, then a streaming reverse proxy.

What Harbor does before proxying (protocols.md §1.3, §3.4, §11.1, §11.4):
- a repository in a missing project: 401 `UNAUTHORIZED` "project <p> not found"
  (HEAD without `Authorization` gets the challenge first);
- Basic credentials are accepted on `/v2/`: the fake swaps them for a token with
  Harbor's grant; bad ones run as anonymous (401 on `/v2/` itself);
- a 401 to a request that carried `Authorization` (or to `_catalog`) challenges
  `Basic realm="harbor"`, never a fresh Bearer;
- `DELETE .../manifests/<tag>`: 400 `UNSUPPORTED` once authorised;
- a successful manifest PUT fires PUSH_ARTIFACT; a manifest DELETE by digest
  fires DELETE_ARTIFACT and, like Harbor's `deleteDeeply`, also removes index
  children nothing else keeps (the 412 for a referenced child is not modelled
  here: the fake cannot tell an authorised caller before the registry does).
Everything else passes through: bodies stream both ways, and `Location` headers
are rewritten from the registry's host to the fake's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Literal

import requests
from flask import Blueprint, Response, request

from tests.support.harbor import artifacts
from tests.support.harbor.artifacts import Artifact
from tests.support.harbor.context import Services, services
from tests.support.harbor.security import basic_credentials, error, request_id
from tests.support.harbor.state import ANONYMOUS, Principal
from tests.support.harbor.tokens import grant, token_claims

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
CHUNK = 1 << 16
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_NOT_FORWARDED = _HOP_BY_HOP | {"host", "content-length", "cookie", "authorization"}
_NOT_RETURNED = _HOP_BY_HOP | {"date", "server"}
_REPO_PATH = re.compile(
    r"^/v2/(?P<name>.+?)/(?P<kind>manifests|blobs|tags|referrers)(?:/(?P<rest>.*))?$"
)
_DIGEST = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")

Artifacts = dict[str, Artifact]

bp = Blueprint("harbor_v2", __name__)


@dataclass(frozen=True)
class Target:
    """What a `/v2/` request touches, as Harbor's v2auth `accessList` sees it."""

    kind: Literal["login", "catalog", "repository", "other"]
    name: str = ""
    section: str = ""
    reference: str = ""
    action: str = ""
    mount_from: str = ""

    @property
    def project(self) -> str:
        return self.name.split("/", 1)[0]

    @property
    def manifest_ref_is_digest(self) -> bool:
        return bool(_DIGEST.match(self.reference))


def _action(method: str) -> str:
    if method in ("GET", "HEAD"):
        return "pull"
    return "delete" if method == "DELETE" else "push"


def classify(method: str, path: str, mount_from: str = "") -> Target:
    """The access a `/v2/` path needs; `mount_from` is a blob mount's `from` repository."""
    if path in ("/v2/", "/v2"):
        return Target("login")
    if path == "/v2/_catalog":
        return Target("catalog")
    match = _REPO_PATH.match(path)
    if not match:
        return Target("other")
    section, rest = match["kind"], match["rest"] or ""
    reference = rest if section == "manifests" else ""
    return Target("repository", match["name"], section, reference, _action(method), mount_from)


# -- authorisation -------------------------------------------------------------------------


def _challenge_401(target: Target) -> Response:
    """Harbor's denial once `Authorization` was sent: `Basic realm="harbor"` (v2auth)."""
    response = error(401, "UNAUTHORIZED", _denied_message(target))
    response.headers["WWW-Authenticate"] = 'Basic realm="harbor"'
    response.headers["Docker-Distribution-Api-Version"] = "registry/2.0"
    return response


def _denied_message(target: Target) -> str:
    if target.kind == "repository":
        return f"unauthorized to access repository: {target.name}, action: {target.action}"
    return "unauthorized to list catalog" if target.kind == "catalog" else "unauthorized"


def _missing_project(svc: Services, target: Target) -> str | None:
    """The first project this request names that does not exist."""
    if target.kind != "repository":
        return None
    names = [target.project] + ([target.mount_from.split("/", 1)[0]] if target.mount_from else [])
    return next((n for n in names if svc.state.project(n, is_name=True) is None), None)


def _scopes(target: Target) -> list[str]:
    if target.kind == "catalog":
        return ["registry:catalog:*"]
    if target.kind != "repository":
        return []
    scopes = [f"repository:{target.name}:pull"]
    return scopes + ([f"repository:{target.mount_from}:pull"] if target.mount_from else [])


def _basic_to_bearer(svc: Services, target: Target, authorization: str) -> tuple[Principal, str]:
    """Harbor accepts Basic on `/v2/`: mint the token its grant would give this caller."""
    creds = basic_credentials(authorization)
    who = (svc.state.authenticate(*creds) if creds else None) or ANONYMOUS
    token = svc.signer.mint_token(who.name, grant(svc.state, who, _scopes(target)))
    return who, f"Bearer {token}"


def _operator(who: Principal | None, authorization: str) -> str:
    if who is not None:
        return who.name
    scheme, _, token = authorization.partition(" ")
    return str(token_claims(token).get("sub") or "") if scheme.lower() == "bearer" else ""


# -- streaming -----------------------------------------------------------------------------


class _SizedBody:
    """The request body as chunks with a known length, so `requests` sends `Content-Length`."""

    def __init__(self, stream: IO[bytes], length: int) -> None:
        self.stream = stream
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.stream.read(CHUNK):
            yield chunk


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        yield chunk


def _request_body() -> _SizedBody | Iterator[bytes] | None:
    if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        return _chunks(request.stream)
    length = request.content_length or 0
    return _SizedBody(request.stream, length) if length else None


def _forward(svc: Services, authorization: str | None) -> requests.Response:
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED}
    if authorization:
        headers["Authorization"] = authorization
    raw_uri = str(request.environ.get("RAW_URI") or request.full_path)
    return svc.backend.proxy_session.request(
        request.method,
        svc.backend.registry.url + raw_uri,
        headers=headers,
        data=_request_body(),
        stream=True,
        allow_redirects=False,
        timeout=(10, 300),
    )


def _stream_back(svc: Services, upstream: requests.Response) -> Response:
    """The registry's answer, body streamed, hosts in headers rewritten to the fake's."""
    registry_url = svc.backend.registry.url
    headers = [
        (key, value.replace(registry_url, svc.url))
        for key, value in upstream.raw.headers.items()
        if key.lower() not in _NOT_RETURNED
    ]
    if request.method == "HEAD":
        upstream.close()
        body: Iterator[bytes] = iter(())
    else:
        body = upstream.raw.stream(CHUNK, decode_content=False)
    response = Response(body, status=upstream.status_code, headers=headers, direct_passthrough=True)
    if not any(key.lower() == "content-type" for key, _ in headers):
        del response.headers["Content-Type"]
    response.call_on_close(upstream.close)
    return response


# -- the route -----------------------------------------------------------------------------


@bp.route("/v2/", defaults={"subpath": ""}, methods=METHODS)
@bp.route("/v2/<path:subpath>", methods=METHODS)
def v2(subpath: str) -> Response:
    svc = services()
    target = classify(request.method, request.path, request.args.get("from", ""))
    authorization = request.headers.get("Authorization", "")
    refused = _refuse_early(svc, target, authorization)
    if refused is not None:
        return refused
    who: Principal | None = None
    upstream_auth = authorization
    if authorization.lower().startswith("basic"):
        who, upstream_auth = _basic_to_bearer(svc, target, authorization)
        if target.kind == "login" and not who.authenticated:
            return _challenge_401(target)
    doomed = _artifact_to_delete(svc, target)
    upstream = _forward(svc, upstream_auth or None)
    replaced = _harbor_answer(target, upstream.status_code, authorization)
    if replaced is not None:
        upstream.close()
        return replaced
    _after(svc, target, upstream, doomed, _operator(who, authorization))
    return _stream_back(svc, upstream)


def _refuse_early(svc: Services, target: Target, authorization: str) -> Response | None:
    """401 "project <p> not found" before the registry sees anything (v2auth).

    A HEAD without `Authorization` is let through to get its challenge first.
    """
    if request.method == "HEAD" and not authorization:
        return None
    missing = _missing_project(svc, target)
    if missing is None:
        return None
    response = error(401, "UNAUTHORIZED", f"project {missing} not found")
    response.headers["WWW-Authenticate"] = ""
    response.headers["Docker-Distribution-Api-Version"] = "registry/2.0"
    return response


def _harbor_answer(target: Target, status: int, authorization: str) -> Response | None:
    """Where Harbor's answer differs from the registry's: challenges and tag deletes."""
    if status == 401 and (authorization or target.kind == "catalog"):
        return _challenge_401(target)
    if _is_tag_delete(target) and status != 401:
        message = f"unsupported digest {target.reference}: invalid checksum digest format"
        return error(400, "UNSUPPORTED", message)
    return None


def _is_tag_delete(target: Target) -> bool:
    return (
        target.section == "manifests"
        and target.action == "delete"
        and not target.manifest_ref_is_digest
    )


def _artifact_to_delete(svc: Services, target: Target) -> tuple[Artifact, Artifacts] | None:
    """Before a manifest DELETE by digest: the artifact (its tags name the event)."""
    if not (target.section == "manifests" and target.action == "delete"):
        return None
    if not target.manifest_ref_is_digest:
        return None
    everything = artifacts.all_artifacts(svc.backend, target.name)
    found = everything.get(target.reference)
    return (found, everything) if found else None


def _after(
    svc: Services,
    target: Target,
    upstream: requests.Response,
    doomed: tuple[Artifact, Artifacts] | None,
    operator: str,
) -> None:
    """Harbor's bookkeeping after the registry said yes: events, orphaned children."""
    project = svc.state.project(target.project, is_name=True)
    if project is None or target.section != "manifests":
        return
    if target.action == "push" and upstream.status_code == 201:
        digest = upstream.headers.get("Docker-Content-Digest", target.reference)
        svc.state.repository_created(target.name)
        svc.notify(
            project, target.name, "PUSH_ARTIFACT", digest, target.reference, operator, request_id()
        )
    elif doomed is not None and upstream.status_code == 202:
        deleted, everything = doomed
        with svc.repo_lock(target.name):
            artifacts.delete_orphans(svc.backend, target.name, deleted, everything)
        tag = deleted.tags[0] if deleted.tags else deleted.digest
        svc.notify(
            project, target.name, "DELETE_ARTIFACT", deleted.digest, tag, operator, request_id()
        )
