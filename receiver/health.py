"""``/healthz`` (the process answers), ``/readyz`` (RabbitMQ takes publishes and the
store a write, within ``readyz_deadline_seconds``: see `receiver.readiness`), ``/metrics``."""

from __future__ import annotations

import os
from typing import cast

from flask import Blueprint, Flask, Response, current_app, jsonify
from flask.blueprints import BlueprintSetupState
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

from receiver.readiness import Readiness
from receiver.services import current_services, services_of

blueprint = Blueprint("health", __name__)
_READINESS = "crossdock.readiness"


@blueprint.record_once
def _set_up(state: BlueprintSetupState) -> None:
    """The app's readiness checks; its publisher reports to the broker metrics."""
    found = services_of(cast(Flask, state.app))
    state.app.extensions[_READINESS] = Readiness(found.settings, found.store, found.publisher)
    found.publisher.observe(found.metrics.broker)


@blueprint.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
def readyz() -> Response:
    """200 when ready, else 503; either way each node and the store with ok or an error."""
    readiness: Readiness = current_app.extensions[_READINESS]
    report = readiness.check()
    response = jsonify(report.as_json())
    response.status_code = 200 if report.ready else 503
    return response


@blueprint.get("/metrics")
def metrics() -> Response:
    registry = current_services().metrics.registry
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Several gunicorn workers: add up what every one of them counted.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
