"""What console views use, reached through Flask's `current_app` (never by importing
`receiver.app`, which imports this package)."""

from __future__ import annotations

from receiver.services import Services, current_services
from shared.settings import Settings
from shared.store import Store


def app_services() -> Services:
    """The receiver's services: settings, store, publisher, caches."""
    return current_services()


def settings() -> Settings:
    return app_services().settings


def store() -> Store:
    return app_services().store
