"""``/healthz`` (the process answers), ``/readyz`` (store and broker reachable), ``/metrics``."""

from __future__ import annotations

import os

from flask import Blueprint, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

from receiver.app import services
from shared.broker import ping as broker_ping
from shared.errors import CrossdockError

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
def readyz() -> Response:
    checks: dict[str, str] = {}
    for name, check in (("store", services().store.ping),
                        ("broker", lambda: broker_ping(services().settings))):
        try:
            check()
            checks[name] = "ok"
        except CrossdockError as exc:
            checks[name] = str(exc)
    ready = all(value == "ok" for value in checks.values())
    response = jsonify({"status": "ready" if ready else "unavailable", "checks": checks})
    response.status_code = 200 if ready else 503
    return response


@blueprint.get("/metrics")
def metrics() -> Response:
    registry = services().metrics.registry
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Several gunicorn workers: add up what every one of them counted.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
