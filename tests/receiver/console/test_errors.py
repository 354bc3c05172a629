"""Errors are pages with the right status, never a traceback or JSON."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from marshmallow import ValidationError

from shared.errors import ConfigurationError
from shared.store import ConflictError, RecordNotFoundError, Store, StoreUnavailableError
from tests.receiver.console.conftest import csrf_from


def _failing(store: Store, monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    def fail(*_args: object, **_kwargs: object) -> None:
        raise error

    for name in ("list_rules", "list_endpoints", "list_sources", "list_jobs"):
        monkeypatch.setattr(store, name, fail)


@pytest.mark.parametrize("path", ["/ui/projects/", "/ui/endpoints/", "/ui/sources/",
                                  "/ui/jobs/"])
def test_a_store_that_is_down_is_a_503_page(
    signed_in_client: FlaskClient, store: Store, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    _failing(store, monkeypatch, StoreUnavailableError("connection refused"))

    answer = signed_in_client.get(path)

    assert answer.status_code == 503
    assert answer.mimetype == "text/html"
    assert answer.headers["Retry-After"] == "5"
    assert "<h1>Service unavailable" in answer.text
    assert "The store is unavailable" in answer.text
    assert "Traceback" not in answer.text


@pytest.mark.parametrize(("error", "status", "shown"), [
    (RecordNotFoundError("no rule named 'x'"), 404, "no rule named &#39;x&#39;"),
    (ConflictError("endpoint 'm' is used by rule 'r'"), 409, "is used by rule"),
    (ValidationError({"name": ["Missing data."]}), 400, "<code>name</code>: Missing data."),
    (ConfigurationError("bad value"), 400, "bad value"),
    (RuntimeError("secret detail"), 500, "Something went wrong on the receiver"),
])
def test_every_error_is_a_page_with_its_status(
    signed_in_client: FlaskClient, store: Store, monkeypatch: pytest.MonkeyPatch,
    error: Exception, status: int, shown: str,
) -> None:
    _failing(store, monkeypatch, error)

    answer = signed_in_client.get("/ui/projects/")

    assert answer.status_code == status
    assert answer.mimetype == "text/html"
    assert shown in answer.text
    assert "Traceback" not in answer.text
    assert "secret detail" not in answer.text


def test_an_htmx_request_gets_the_error_in_the_alert_area(
    signed_in_client: FlaskClient, store: Store, monkeypatch: pytest.MonkeyPatch,
) -> None:
    _failing(store, monkeypatch, StoreUnavailableError("database is locked"))

    answer = signed_in_client.get("/ui/jobs/", headers={"HX-Request": "true"})

    assert answer.status_code == 503
    assert answer.headers["HX-Retarget"] == "#console-alerts"
    assert "<html" not in answer.text
    assert 'role="alert"' in answer.text


def test_an_unknown_console_page_is_a_404_page(signed_in_client: FlaskClient) -> None:
    token = csrf_from(signed_in_client.get("/ui/projects/").text)

    for answer in (signed_in_client.get("/ui/rules/42/nonsense"),
                   signed_in_client.post("/ui/rules/42/nonsense", data={"csrf_token": token})):
        assert answer.status_code == 404
        assert answer.mimetype == "text/html"
        assert "There is no such page in the console." in answer.text


def test_the_api_still_answers_json(client: FlaskClient) -> None:
    answer = client.get("/nonsense")

    assert answer.status_code == 404
    assert answer.is_json


def test_the_console_handles_every_error_class_the_app_handles(app: Flask) -> None:
    """Flask picks a handler by the error's class before it prefers the blueprint's:
    an app-level handler for a class the console lacks would answer console pages
    with JSON."""
    app_handlers = app.error_handler_spec[None]
    console_handlers = app.error_handler_spec["console"]
    for code, handlers in app_handlers.items():
        missing = set(handlers) - set(console_handlers.get(code, {}))
        assert not missing, f"the console has no handler for {missing} (code {code})"
