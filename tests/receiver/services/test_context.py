"""Blueprints reach the app's services through Flask's ``current_app``, never by
importing ``receiver.app``: no import circle between the app and its views."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from flask import Flask

import receiver
from receiver.app import create_app
from receiver.services import Services, current_services, services_of
from shared.settings import Settings
from shared.store import Store

PACKAGE = Path(receiver.__file__).parent
# serve.py builds the app itself: it is the one module that may import it (lazily).
ALLOWED = {PACKAGE / "app.py", PACKAGE / "serve.py"}


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_no_receiver_module_but_serve_imports_the_app_module() -> None:
    offenders = sorted(str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                       if path not in ALLOWED and "receiver.app" in imported_modules(path))
    assert offenders == []


def test_the_service_layer_imports_no_view() -> None:
    """The API and the console call the services; the services call neither."""
    offenders = sorted(
        str(path.relative_to(PACKAGE)) for path in (PACKAGE / "services").rglob("*.py")
        if any(name.startswith(("receiver.api", "receiver.console", "receiver.webhooks"))
               for name in imported_modules(path)))
    assert offenders == []


def test_current_services_are_those_of_the_app_in_context(
    app: Flask, settings: Settings, store: Store
) -> None:
    other = create_app(settings, store=store)
    with app.app_context():
        assert current_services() is services_of(app)
    with other.app_context():
        assert current_services() is services_of(other)
        assert current_services() is not services_of(app)
    assert isinstance(services_of(app), Services)


def test_outside_an_app_context_the_accessor_says_so() -> None:
    with pytest.raises(RuntimeError):
        current_services()


def test_an_app_without_crossdock_services_is_named() -> None:
    with pytest.raises(RuntimeError, match="no crossdock services"):
        services_of(Flask("bare"))
