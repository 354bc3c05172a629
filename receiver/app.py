"""The receiver's Flask application, built at call time by `create_app`.

Collaborators (settings, store, publisher, metrics) come in through
`create_app` and live in ``app.extensions["crossdock"]`` as a
`receiver.services.Services`; blueprints reach them with
`receiver.services.current_services`, never by importing this module. Nothing
opens a socket at import time. Blueprints: health and metrics, registry
webhooks, the management API under ``/api/v1``, the web console under ``/ui/``.
"""

from __future__ import annotations

import time

import structlog
from flask import Flask, Response, g, request

from receiver import api, health, webhooks
from receiver.cache import TtlCache
from receiver.console import init_console
from receiver.errors import register_error_handlers
from receiver.metrics import ReceiverMetrics
from receiver.services import Services, listings, queues
from shared.broker import Publisher
from shared.settings import Settings
from shared.store import SourceRecord, Store, open_store, remember_queue_delays

log = structlog.get_logger("crossdock.receiver")


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    publisher: Publisher | None = None,
    metrics: ReceiverMetrics | None = None,
) -> Flask:
    """Build the receiver. Opens the store unless one is given; the publisher
    connects lazily, on the first publish."""
    app = Flask("crossdock.receiver")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    opened = store or open_store(settings, wait_seconds=settings.store_wait_seconds)
    remember_queue_delays(opened, settings)
    Services(
        settings=settings,
        store=opened,
        publisher=publisher or Publisher(settings, name="crossdock-receiver"),
        metrics=metrics or ReceiverMetrics(),
        sources=TtlCache(lambda name: _source_with_secret(opened, name)),
        endpoints=TtlCache(opened.get_endpoint),
        projects=listings.new_cache(settings, opened),
        queues=queues.new_cache(settings, opened),
    ).install(app)
    register_error_handlers(app)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(webhooks.blueprint)
    app.register_blueprint(api.blueprint)
    init_console(app, settings)
    app.before_request(_start_timer)
    app.after_request(_log_request)
    return app


def _source_with_secret(store: Store, name: str) -> tuple[SourceRecord, str | None]:
    source = store.get_source_by_name(name)
    return source, store.source_webhook_secret(source.id)


def _start_timer() -> None:
    g.started = time.monotonic()
    structlog.contextvars.clear_contextvars()


def _log_request(response: Response) -> Response:
    """One canonical line per request."""
    # Webhooks write their own canonical line; probes would drown the log.
    if request.path not in ("/healthz", "/metrics") and request.blueprint != "webhooks":
        log.info("request", method=request.method, path=request.path,
                 status=response.status_code,
                 ms=round((time.monotonic() - g.get("started", time.monotonic())) * 1000, 1))
    return response
