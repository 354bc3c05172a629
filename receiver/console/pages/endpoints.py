"""Endpoints: the registries rules copy to. List, create, edit, delete (with a
confirmation step), Test Connection, and each endpoint's queue depths with a
Redrive button for its failed queue.

The depths come from the cached `endpoint_queues` in a fragment the list page
loads after itself (``/queues``), so the page never waits on RabbitMQ; without
JavaScript the list links to that fragment as a page.
"""

from __future__ import annotations

from flask import Blueprint, flash, request, url_for
from marshmallow import ValidationError
from werkzeug.wrappers import Response

from receiver.api.ping import ping_in
from receiver.api.schemas import endpoint_create, endpoint_patch
from receiver.console.context import app_services, settings, store
from receiver.console.forms import FormState
from receiver.console.htmx import redirect_to, render
from receiver.console.links import rabbitmq_queue_url
from receiver.console.registry_forms import (
    create_values,
    patch_values,
    ping_values,
    record_values,
)
from receiver.services import endpoints
from receiver.services.connection import ping_endpoint
from receiver.services.errors import QueuesUnavailableError
from receiver.services.lookup import endpoint_named
from receiver.services.queues import endpoint_queues
from shared.store import ConflictError, EndpointKind, EndpointRecord

blueprint = Blueprint("endpoints", __name__, url_prefix="/endpoints")

KINDS = [(kind.value, kind.value) for kind in EndpointKind]
#: Seconds between looks while RabbitMQ has not been counted yet.
QUEUES_POLL_SECONDS = 2
#: Seconds between looks while RabbitMQ cannot be counted.
QUEUES_RETRY_SECONDS = 5


@blueprint.get("/")
def index() -> Response:
    return render("console/endpoints/index.html", endpoints=store().list_endpoints())


@blueprint.get("/queues")
def queues() -> Response:
    """Each endpoint's queue depths, as last counted (never waits on RabbitMQ)."""
    report = endpoint_queues(app_services(), wait=0)
    listed = store().list_endpoints()
    # Asked again while an endpoint listed has no count yet (the first count, one
    # since it was created, or a RabbitMQ that failed: the cache tries it again).
    polling = any(endpoint.name not in report.queues for endpoint in listed)
    return render("console/endpoints/queues.html", "console/endpoints/_queues.html",
                  report=report, endpoints=listed, polling=polling,
                  poll_seconds=QUEUES_RETRY_SECONDS if report.error else QUEUES_POLL_SECONDS,
                  queue_url=_queue_url)


@blueprint.route("/new", methods=["GET", "POST"])
def new() -> Response:
    form = FormState({"kind": EndpointKind.REGISTRY.value, "verify_tls": True})
    if request.method == "POST":
        values = create_values(request.form)
        try:
            change = endpoints.create_endpoint(app_services(), endpoint_create.load(values))
        except ValidationError as error:
            return _form_page(FormState.from_error(values, error), None, status=400)
        except ConflictError as error:
            form = FormState(values)
            form.add_error("name", str(error).capitalize() + ".")
            return _form_page(form, None, status=409)
        _flash_saved(f"Endpoint {change.endpoint.name} created.", change.warnings)
        return redirect_to(url_for(".edit", name=change.endpoint.name))
    return _form_page(form, None)


@blueprint.route("/<name>/", methods=["GET", "POST"])
def edit(name: str) -> Response:
    endpoint = endpoint_named(store(), name)
    if request.method == "POST":
        values = patch_values(request.form)
        try:
            change = endpoints.update_endpoint(app_services(), endpoint,
                                               endpoint_patch.load(values, partial=True))
        except ValidationError as error:
            return _form_page(FormState.from_error(values, error), endpoint, status=400)
        _flash_saved(f"Endpoint {name} saved.", change.warnings)
        return redirect_to(url_for(".edit", name=name))
    return _form_page(FormState(record_values(endpoint)), endpoint)


@blueprint.post("/test")
@blueprint.post("/<name>/test")
def test(name: str | None = None) -> Response:
    """Test Connection on what the form holds (for a saved endpoint, its stored
    settings where the form leaves a field blank)."""
    endpoint = endpoint_named(store(), name) if name is not None else None
    values = ping_values(request.form, name)
    try:
        tested = ping_endpoint(app_services(), ping_in.load(values))
    except ValidationError as error:
        refused = FormState.from_error(values, error)
        return render("console/endpoints/form.html", "console/endpoints/_checks.html",
                      form=refused, endpoint=endpoint, kinds=KINDS, report=None,
                      refused=refused, status=400)
    return render("console/endpoints/form.html", "console/endpoints/_checks.html",
                  form=FormState(values), endpoint=endpoint, kinds=KINDS,
                  report=tested.report, tested_url=tested.target.url, refused=None)


@blueprint.route("/<name>/delete", methods=["GET", "POST"])
def delete(name: str) -> Response:
    endpoint = endpoint_named(store(), name)
    if request.method == "POST":
        try:
            dropped = endpoints.delete_endpoint(app_services(), endpoint)
        except ConflictError:
            return _confirm_delete(endpoint, status=409)
        except QueuesUnavailableError as error:
            flash(str(error), "error")
            return redirect_to(url_for(".index"))
        flash(f"Endpoint {name} deleted, with its job history and queues "
              f"({_count(dropped, 'message')} dropped).", "success")
        return redirect_to(url_for(".index"))
    return _confirm_delete(endpoint)


@blueprint.post("/<name>/redrive")
def redrive(name: str) -> Response:
    endpoint = endpoint_named(store(), name)
    try:
        done = endpoints.redrive_endpoint(app_services(), endpoint)
    except (ConflictError, QueuesUnavailableError) as error:
        flash(f"Redrive of {name} did not run: {error}", "error")
    else:
        flash(f"Redrive of {name}: {_count(done.moved, 'message')} moved back to the work "
              f"queue, {_count(done.jobs_reset, 'failed job')} set back to pending.", "success")
    return redirect_to(url_for(".index"))


def _form_page(form: FormState, endpoint: EndpointRecord | None, *,
               status: int = 200) -> Response:
    return render("console/endpoints/form.html", form=form, endpoint=endpoint, kinds=KINDS,
                  report=None, refused=None, status=status)


def _confirm_delete(endpoint: EndpointRecord, *, status: int = 200) -> Response:
    users = [rule.name for rule in store().list_rules(endpoint_id=endpoint.id)]
    return render("console/endpoints/delete.html", endpoint=endpoint, users=users,
                  status=status)


def _flash_saved(message: str, warnings: list[str]) -> None:
    flash(message, "success")
    for warning in warnings:
        flash(f"Warning: {warning}", "error")


def _queue_url(queue: str) -> str | None:
    found = settings()
    return rabbitmq_queue_url(found.rabbitmq_console_url, found.amqp_url, queue)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
