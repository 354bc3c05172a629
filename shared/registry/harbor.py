"""Harbor's own REST API (``/api/v2.0``): what a plain registry doesn't have.

Projects must exist before a push (a push into a missing project answers 401,
protocols.md §1.3), tags can be deleted one at a time only here (§11.3), and a
project can be listed without catalog rights (§11.2).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from shared.errors import RegistryRejectedError
from shared.registry.transport import Response, Transport, raise_for

API = "/api/v2.0"
PAGE_SIZE = 100  # Harbor's maximum (422 above)


def is_harbor(transport: Transport) -> bool:
    """True when the registry answers Harbor v2's ping with ``Pong``."""
    response = transport.api_request("GET", f"{API}/ping")
    return response.status_code == 200 and response.text.strip().strip('"') == "Pong"


def project_exists(transport: Transport, project: str) -> bool:
    """``HEAD /projects?project_name=``: 200 yes, 404 no; anything else raises."""
    response = transport.api_request("HEAD", f"{API}/projects", params={"project_name": project})
    if response.status_code == 404:
        return False
    raise_for(response, f"HEAD Harbor project {project}")
    return True


def ensure_project(transport: Transport, project: str) -> bool:
    """Create `project` (private) unless it exists. True when this call created it.

    A 409 is a race with another creator and counts as success (§8.1).
    """
    if project_exists(transport, project):
        return False
    response = transport.api_request(
        "POST", f"{API}/projects",
        json_body={"project_name": project, "metadata": {"public": "false"}},
    )
    if response.status_code == 409:
        return False
    raise_for(response, f"create Harbor project {project}", ok=(201,))
    return True


def _repository_path(repository: str) -> tuple[str, str]:
    """``lib/a/b`` → (``lib``, ``a%252Fb``): the name after the project, encoded twice."""
    project, _, rest = repository.partition("/")
    return project, quote(quote(rest, safe=""), safe="")


def delete_tag(transport: Transport, repository: str, reference: str, tag: str) -> bool:
    """Remove one tag, keeping the artifact and its other tags. False when absent."""
    project, repo = _repository_path(repository)
    path = (f"{API}/projects/{project}/repositories/{repo}/artifacts/{quote(reference, safe='')}"
            f"/tags/{quote(tag, safe='')}")
    response = transport.api_request("DELETE", path)
    if response.status_code == 404:
        return False
    raise_for(response, f"delete Harbor tag {repository}:{tag}")
    return True


def _pages(transport: Transport, path: str, what: str, **params: str) -> Iterator[Any]:
    page = 1
    while True:
        response = transport.api_request(
            "GET", path, params={**params, "page": str(page), "page_size": str(PAGE_SIZE)}
        )
        items = _json_list(raise_for(response, what), what)
        yield from items
        total = int(response.headers.get("X-Total-Count") or 0)
        if not items or page * PAGE_SIZE >= total:
            return
        page += 1


def _json_list(response: Response, what: str) -> list[Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise RegistryRejectedError(f"{what}: Harbor sent a body that is not JSON") from exc
    if not isinstance(body, list):
        raise RegistryRejectedError(f"{what}: Harbor sent an unexpected body")
    return body


@dataclass(frozen=True)
class Project:
    """A Harbor project as its list shows it."""

    name: str
    repositories: int  # Harbor's repo_count


def list_projects(transport: Transport) -> list[Project]:
    """Every project the account may see (all public ones, and those it is a member
    of), by name, via the project API (paged); no catalog rights needed (§11.2)."""
    what = "list Harbor projects"
    found = []
    for item in _pages(transport, f"{API}/projects", what):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise RegistryRejectedError(f"{what}: Harbor sent an unexpected project")
        count = item.get("repo_count")
        found.append(Project(item["name"], count if isinstance(count, int) else 0))
    return sorted(found, key=lambda project: project.name)


def list_repositories(transport: Transport, project: str) -> list[str]:
    """Full repository names (``lib/a/b``) of a project, via the project API."""
    what = f"list Harbor repositories of {project}"
    return sorted(str(item["name"]) for item in
                  _pages(transport, f"{API}/projects/{quote(project, safe='')}/repositories", what))


def project_id(transport: Transport, project: str) -> int | None:
    """The numeric id of `project`, or None when it does not exist (404).

    A non-admin asking for a missing project gets 403 like for a project it may
    not see (protocols.md §11.2): `PermissionDeniedError`.
    """
    response = transport.api_request(
        "GET", f"{API}/projects/{quote(project, safe='')}", headers={"X-Is-Resource-Name": "true"}
    )
    if response.status_code == 404:
        return None
    raise_for(response, f"GET Harbor project {project}")
    try:
        return int(response.json()["project_id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise RegistryRejectedError(f"GET Harbor project {project}: unexpected body") from exc


def current_permissions(transport: Transport, project_id: int) -> set[tuple[str, str]]:
    """``{(resource, action)}`` the account may do in a project (§11.4 step 4).

    Works for robots too; raises `AuthenticationError` for bad credentials.
    """
    what = "GET Harbor users/current/permissions"
    response = transport.api_request(
        "GET", f"{API}/users/current/permissions",
        params={"scope": f"/project/{project_id}", "relative": "true"},
    )
    items = _json_list(raise_for(response, what), what)
    return {(str(item.get("resource")), str(item.get("action")))
            for item in items if isinstance(item, dict)}
