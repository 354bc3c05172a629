"""What console views use, reached through Flask's `current_app` (never by importing
`receiver.app`, which imports this package)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app

from shared.settings import Settings
from shared.store import Store

if TYPE_CHECKING:
    from receiver.app import Services


def app_services() -> Services:
    """The receiver's services: settings, store, publisher, caches."""
    found: Services = current_app.extensions["crossdock"]
    return found


def settings() -> Settings:
    return app_services().settings


def store() -> Store:
    return app_services().store
