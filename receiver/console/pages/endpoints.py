"""Endpoints: for now, the list (a placeholder for the endpoints page)."""

from __future__ import annotations

from flask import Blueprint
from werkzeug.wrappers import Response

from receiver.console.context import store
from receiver.console.htmx import render

blueprint = Blueprint("endpoints", __name__, url_prefix="/endpoints")


@blueprint.get("/")
def index() -> Response:
    return render("console/endpoints/index.html", endpoints=store().list_endpoints())
