"""Repositories, artifacts and tags of a project (protocols.md §11.2, §11.3).

`{repository_name}` is the path after the project, URL-encoded twice when it holds
`/` (`a/b` -> `a%252Fb`): the server decodes one layer, the handler the second,
as Harbor's `unescapePathParams` does. Everything is derived from the registry.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from flask import Blueprint, Response, jsonify, request

from tests.support.harbor import artifacts
from tests.support.harbor.artifacts import Artifact
from tests.support.harbor.context import Services, services
from tests.support.harbor.paging import paged, parse_page
from tests.support.harbor.security import current_principal, request_id, require_project
from tests.support.harbor.state import HarborError, Project, iso

bp = Blueprint("harbor_repos", __name__, url_prefix="/api/v2.0/projects/<project_name>")
_NEVER = "0001-01-01T00:00:00.000Z"


def _access(project_name: str, resource: str, action: str) -> tuple[Services, Project]:
    svc = services()
    who = current_principal(svc.state)
    project = require_project(svc.state, who, project_name, resource, action, is_name=True)
    return svc, project


def _repository(svc: Services, project: Project, encoded: str) -> str:
    """The full repository name; HarborError 404 when the registry has no such repository."""
    full = f"{project.name}/{unquote(encoded)}"
    if full not in svc.backend.catalog():
        raise HarborError(404, "NOT_FOUND", f"repository {full} not found")
    return full


def _artifact(svc: Services, repo: str, reference: str) -> tuple[Artifact, dict[str, Artifact]]:
    everything = artifacts.all_artifacts(svc.backend, repo)
    found = artifacts.find(everything, reference)
    if found is None:
        raise HarborError(404, "NOT_FOUND", f"artifact {repo}:{reference} not found")
    return found, everything


def repository_json(svc: Services, project: Project, repo: str) -> dict[str, Any]:
    shown = artifacts.listed(artifacts.all_artifacts(svc.backend, repo))
    created = svc.state.repository_created(repo)
    updated = max((a.push_time for a in shown), default=created)
    return {
        "id": svc.state.object_id("repository", repo),
        "project_id": project.project_id,
        "name": repo,
        "description": "",
        "artifact_count": len(shown),
        "pull_count": 0,
        "creation_time": iso(created),
        "update_time": iso(updated),
    }


def artifact_json(
    svc: Services, project: Project, repo: str, art: Artifact, *, with_tag: bool
) -> dict[str, Any]:
    """A swagger `Artifact`; index children appear as `references`."""
    repo_id = svc.state.object_id("repository", repo)
    art_id = svc.state.object_id("artifact", repo, art.digest)
    tags = [
        {
            "id": svc.state.object_id("tag", repo, tag),
            "repository_id": repo_id,
            "artifact_id": art_id,
            "name": tag,
            "push_time": iso(art.push_time),
            "pull_time": _NEVER,
            "immutable": False,
            "signed": False,
        }
        for tag in art.tags
    ]
    references = [
        {
            "parent_id": art_id,
            "child_id": svc.state.object_id("artifact", repo, str(child["digest"])),
            "child_digest": child["digest"],
            "platform": child.get("platform"),
            "annotations": child.get("annotations"),
            "urls": child.get("urls"),
        }
        for child in art.children
    ]
    return {
        "id": art_id,
        "type": art.type,
        "media_type": art.media_type,
        "manifest_media_type": art.manifest_media_type,
        "project_id": project.project_id,
        "repository_id": repo_id,
        "repository_name": repo,
        "digest": art.digest,
        "size": art.size,
        "icon": "",
        "push_time": iso(art.push_time),
        "pull_time": _NEVER,
        "extra_attrs": {},
        "annotations": dict(art.annotations) or None,
        "references": references or None,
        "tags": (tags or None) if with_tag else None,
        "labels": None,
        "accessories": None,
    }


def _flag(name: str, default: bool) -> bool:
    return request.args.get(name, str(default)).lower() == "true"


def _filtered(everything: dict[str, Artifact], query: str) -> list[Artifact]:
    """Apply `q=base=*`, `q=tags=*` and `q=tags=nil` (Harbor's artifact DAO)."""
    clauses = dict(c.partition("=")[::2] for c in query.split(",") if c)
    if clauses.get("base") == "*":
        chosen = sorted(everything.values(), key=lambda a: (-a.push_time.timestamp(), a.digest))
    else:
        chosen = artifacts.listed(everything)
    if clauses.get("tags") == "*":
        return [a for a in chosen if a.tags]
    if clauses.get("tags") == "nil":
        return [a for a in chosen if not a.tags]
    return chosen


@bp.get("/repositories")
def list_repositories(project_name: str) -> Response:
    svc, project = _access(project_name, "repository", "list")
    page = parse_page(request.args)
    prefix = project.name + "/"
    names = sorted(n for n in svc.backend.catalog() if n.startswith(prefix))
    return paged([repository_json(svc, project, n) for n in names], page)


@bp.get("/repositories/<repository_name>")
def get_repository(project_name: str, repository_name: str) -> Response:
    svc, project = _access(project_name, "repository", "read")
    repo = _repository(svc, project, repository_name)
    return jsonify(repository_json(svc, project, repo))


@bp.get("/repositories/<repository_name>/artifacts")
def list_artifacts(project_name: str, repository_name: str) -> Response:
    svc, project = _access(project_name, "artifact", "list")
    page = parse_page(request.args)
    repo = _repository(svc, project, repository_name)
    chosen = _filtered(artifacts.all_artifacts(svc.backend, repo), request.args.get("q", ""))
    with_tag = _flag("with_tag", True)
    return paged([artifact_json(svc, project, repo, a, with_tag=with_tag) for a in chosen], page)


@bp.get("/repositories/<repository_name>/artifacts/<reference>")
def get_artifact(project_name: str, repository_name: str, reference: str) -> Response:
    svc, project = _access(project_name, "artifact", "read")
    repo = _repository(svc, project, repository_name)
    found, _ = _artifact(svc, repo, reference)
    return jsonify(artifact_json(svc, project, repo, found, with_tag=_flag("with_tag", True)))


@bp.delete("/repositories/<repository_name>/artifacts/<reference>")
def delete_artifact(project_name: str, repository_name: str, reference: str) -> Response:
    """200; the artifact goes with all its tags; fires DELETE_ARTIFACT (§11.1)."""
    svc, project = _access(project_name, "artifact", "delete")
    repo = _repository(svc, project, repository_name)
    with svc.repo_lock(repo):
        found, everything = _artifact(svc, repo, reference)
        artifacts.delete_artifact(svc.backend, repo, found, everything)
    tag = found.tags[0] if found.tags else found.digest
    operator = current_principal(svc.state).name
    svc.notify(project, repo, "DELETE_ARTIFACT", found.digest, tag, operator, request_id())
    return Response(status=200)


@bp.get("/repositories/<repository_name>/artifacts/<reference>/tags")
def list_tags(project_name: str, repository_name: str, reference: str) -> Response:
    svc, project = _access(project_name, "tag", "list")
    repo = _repository(svc, project, repository_name)
    found, _ = _artifact(svc, repo, reference)
    art = artifact_json(svc, project, repo, found, with_tag=True)
    return paged(art["tags"] or [], parse_page(request.args))


@bp.delete("/repositories/<repository_name>/artifacts/<reference>/tags/<tag_name>")
def delete_tag(project_name: str, repository_name: str, reference: str, tag_name: str) -> Response:
    """200, only that tag goes; 404 when it is not on the artifact. No webhook (§11.1)."""
    svc, project = _access(project_name, "tag", "delete")
    repo = _repository(svc, project, repository_name)
    with svc.repo_lock(repo):
        found, _ = _artifact(svc, repo, reference)
        artifacts.delete_tag(svc.backend, repo, found, tag_name)
    return Response(status=200)
