"""Sources: the registries that notify crossdock. List, create, edit, delete and
regenerate the webhook secret (both with a confirmation step).

A webhook secret is shown once, on the page that answers the change that set it
(never put in the session or a flash), with what to paste into the registry:
Distribution's ``notifications:`` block, or Harbor's webhook policy.
"""

from __future__ import annotations

import json

from flask import Blueprint, flash, request, url_for
from marshmallow import ValidationError
from werkzeug.wrappers import Response

from receiver.api.schemas import source_create, source_patch
from receiver.console.context import app_services, store
from receiver.console.forms import FormState
from receiver.console.htmx import redirect_to, render
from receiver.console.registry_forms import create_values, patch_values, record_values
from receiver.services import sources
from receiver.services.lookup import source_named
from receiver.services.snippets import notification_setup, webhook_url
from shared.store import ConflictError, SourceKind, SourceRecord

blueprint = Blueprint("sources", __name__, url_prefix="/sources")

KINDS = [(kind.value, kind.value) for kind in SourceKind]


@blueprint.get("/")
def index() -> Response:
    listed = store().list_sources()
    hooks = {source.name: webhook_url(request.host_url, source.name) for source in listed}
    return render("console/sources/index.html", sources=listed, hooks=hooks)


@blueprint.route("/new", methods=["GET", "POST"])
def new() -> Response:
    form = FormState({"kind": SourceKind.DISTRIBUTION.value, "verify_tls": True})
    if request.method == "POST":
        values = create_values(request.form)
        try:
            change = sources.create_source(app_services(), source_create.load(values))
        except ValidationError as error:
            return _form_page(FormState.from_error(values, error), None, status=400)
        except ConflictError as error:
            form = FormState(values)
            form.add_error("name", str(error).capitalize() + ".")
            return _form_page(form, None, status=409)
        _flash_warnings(change.warnings)
        return _secret_page(change, f"Source {change.source.name} created.", status=201)
    return _form_page(form, None)


@blueprint.route("/<name>/", methods=["GET", "POST"])
def edit(name: str) -> Response:
    source = source_named(store(), name)
    if request.method == "POST":
        values = patch_values(request.form)
        try:
            change = sources.update_source(app_services(), source,
                                           source_patch.load(values, partial=True))
        except ValidationError as error:
            return _form_page(FormState.from_error(values, error), source, status=400)
        flash(f"Source {name} saved.", "success")
        _flash_warnings(change.warnings)
        return redirect_to(url_for(".edit", name=name))
    return _form_page(FormState(record_values(source)), source)


@blueprint.route("/<name>/regenerate", methods=["GET", "POST"])
def regenerate(name: str) -> Response:
    """A new webhook secret (after a confirmation): the old one stops working."""
    source = source_named(store(), name)
    if request.method == "POST":
        change = sources.update_source(app_services(), source,
                                       source_patch.load({"regenerate_webhook_secret": True}))
        return _secret_page(change, f"Source {name} has a new webhook secret.")
    return render("console/sources/regenerate.html", source=source)


@blueprint.route("/<name>/delete", methods=["GET", "POST"])
def delete(name: str) -> Response:
    source = source_named(store(), name)
    if request.method == "POST":
        try:
            sources.delete_source(app_services(), source)
        except ConflictError:
            return _confirm_delete(source, status=409)
        flash(f"Source {name} deleted, with its job history.", "success")
        return redirect_to(url_for(".index"))
    return _confirm_delete(source)


def _form_page(form: FormState, source: SourceRecord | None, *, status: int = 200) -> Response:
    setup = None
    if source is not None:
        setup = _setup(source, None)
    return render("console/sources/form.html", form=form, source=source, kinds=KINDS,
                  setup=setup, status=status)


def _secret_page(change: sources.SourceChange, message: str, *, status: int = 200) -> Response:
    response = render("console/sources/secret.html", source=change.source,
                      secret=change.secret, message=message,
                      setup=_setup(change.source, change.secret), status=status)
    response.headers["Cache-Control"] = "no-store"  # the secret stays out of every cache
    return response


def _setup(source: SourceRecord, secret: str | None) -> dict[str, str]:
    """The notification set-up as the page shows it: text blocks to copy."""
    found = notification_setup(source.kind, source.name, request.host_url, secret)
    shown = {"instructions": found["instructions"], "webhook_url": found["webhook_url"]}
    if "config_yml" in found:
        shown["config_yml"] = found["config_yml"]
    else:
        shown["request"] = found["request"]
        shown["body"] = json.dumps(found["body"], indent=2)
    return shown


def _confirm_delete(source: SourceRecord, *, status: int = 200) -> Response:
    users = [rule.name for rule in store().list_rules(source_id=source.id)]
    return render("console/sources/delete.html", source=source, users=users, status=status)


def _flash_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        flash(f"Warning: {warning}", "error")
