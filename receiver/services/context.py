"""The app's collaborators, and the accessor blueprints reach them through.

`create_app` builds one `Services` per application and keeps it in
``app.extensions["crossdock"]``. A blueprint (the API's, the console's) calls
`current_services()`, which goes through Flask's ``current_app``: no blueprint
imports ``receiver.app``, so there is no import circle between the app and
its views.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from receiver.cache import TtlCache
from receiver.metrics import ReceiverMetrics
from receiver.services.listings import ProjectCache
from receiver.services.queues import QueueCache
from shared.broker import Publisher
from shared.settings import Settings
from shared.store import EndpointRecord, SourceRecord, Store

EXTENSION = "crossdock"


@dataclass
class Services:
    """What request handlers use; one set per application."""

    settings: Settings
    store: Store
    publisher: Publisher
    metrics: ReceiverMetrics
    #: The webhook path's few seconds of memory (see `receiver.cache`).
    sources: TtlCache[str, tuple[SourceRecord, str | None]]
    endpoints: TtlCache[int, EndpointRecord]
    #: What the console shows from registries and RabbitMQ, refreshed in the
    #: background (see `projects`, `queues`).
    projects: ProjectCache
    queues: QueueCache

    def install(self, app: Flask) -> None:
        """Make these the services of `app`."""
        app.extensions[EXTENSION] = self


def current_services() -> Services:
    """The services of the application handling the current request (or app context).

    Raises `RuntimeError` outside an application context, or for an app that
    `create_app` did not build.
    """
    return services_of(current_app)


def services_of(app: Flask) -> Services:
    """The services of `app`. Raises `RuntimeError` when it has none."""
    found = app.extensions.get(EXTENSION)
    if not isinstance(found, Services):
        raise RuntimeError(f"application {app.name!r} has no crossdock services: "
                           "build it with receiver.app.create_app")
    return found
