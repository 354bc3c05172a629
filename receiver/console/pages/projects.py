"""Projects: every source's projects, each with its rule count and the status of
its last execution, filtered by name and paged; and a project's page, whose
"Registry Replication" tab lists its rules (`receiver.console.pages.rules` edits
them).

The listing is the cached one (`receiver.services.projects`, ``wait=0``): a page
never waits on a registry. While a source's first listing runs, its section
polls itself (``hx-get`` every few seconds) until it has loaded.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request, url_for
from werkzeug.wrappers import Response

from receiver.console.context import app_services, store
from receiver.console.htmx import render
from receiver.services.executions import latest_executions
from receiver.services.listings import ListingStatus
from receiver.services.lookup import source_named
from receiver.services.projects import PAGE_SIZE, ProjectPage, source_projects
from shared.store import SourceRecord

blueprint = Blueprint("projects", __name__, url_prefix="/projects")

POLL_SECONDS = 2


def _offset() -> int:
    return max(request.args.get("offset", 0, type=int) or 0, 0)


def _search() -> str:
    return request.args.get("q", "").strip()[:255]


def _section(source: SourceRecord, search: str, offset: int) -> dict[str, Any]:
    page: ProjectPage = source_projects(app_services(), source, search=search,
                                        offset=offset, limit=PAGE_SIZE, wait=0)
    return {"listing": page, "search": search,
            "polling": page.status == ListingStatus.LOADING or page.refreshing,
            "poll_seconds": POLL_SECONDS}


@blueprint.get("/")
def index() -> Response:
    search, paged, offset = _search(), request.args.get("source", ""), _offset()
    sections = [_section(source, search, offset if source.name == paged else 0)
                for source in store().list_sources()]
    return render("console/projects/index.html", sections=sections, search=search)


@blueprint.get("/sources/<source_name>")
def source_section(source_name: str) -> Response:
    """One source's projects: the fragment a section polls and pages with."""
    source = source_named(store(), source_name)
    section = _section(source, _search(), _offset())
    return render("console/projects/index.html", "console/projects/_source.html",
                  sections=[section], **section)


@blueprint.get("/<source_name>/<project>/")
def project(source_name: str, project: str) -> Response:
    """The project's page, tab "Registry Replication": its rules."""
    found = store()
    source = source_named(found, source_name)
    rules = found.list_rules(source_id=source.id, project=project)
    endpoints = {endpoint.id: endpoint.name for endpoint in found.list_endpoints()}
    latest = latest_executions(app_services(), [rule.id for rule in rules])
    return render("console/projects/project.html", source=source, project=project,
                  rules=sorted(rules, key=lambda rule: rule.name), endpoints=endpoints,
                  latest=latest, back=url_for(".project", source_name=source.name,
                                               project=project))
