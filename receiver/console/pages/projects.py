"""Projects: for now, the rules of each project (a placeholder for the projects page)."""

from __future__ import annotations

from flask import Blueprint
from werkzeug.wrappers import Response

from receiver.console.context import store
from receiver.console.htmx import render

blueprint = Blueprint("projects", __name__, url_prefix="/projects")


@blueprint.get("/")
def index() -> Response:
    found = store()
    sources = {source.id: source.name for source in found.list_sources()}
    endpoints = {endpoint.id: endpoint.name for endpoint in found.list_endpoints()}
    rules = sorted(found.list_rules(), key=lambda rule: (sources.get(rule.source_id, ""),
                                                         rule.project, rule.name))
    return render("console/projects/index.html", rules=rules, sources=sources,
                  endpoints=endpoints)
