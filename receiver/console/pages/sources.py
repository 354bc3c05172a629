"""Sources: for now, the list (a placeholder for the sources page)."""

from __future__ import annotations

from flask import Blueprint
from werkzeug.wrappers import Response

from receiver.console.context import store
from receiver.console.htmx import render

blueprint = Blueprint("sources", __name__, url_prefix="/sources")


@blueprint.get("/")
def index() -> Response:
    return render("console/sources/index.html", sources=store().list_sources())
