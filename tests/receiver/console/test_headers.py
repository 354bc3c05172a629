"""The security headers are on every console response, whatever its status."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from receiver.console.security import CONTENT_SECURITY_POLICY
from tests.receiver.console.conftest import csrf_from, sign_in


def _directives(policy: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (part.split() for part in policy.split(";"))}


def assert_secured(response: TestResponse) -> None:
    csp = _directives(response.headers["Content-Security-Policy"])
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["default-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_policy_allows_no_inline_script_eval_or_inline_style() -> None:
    for word in ("unsafe-inline", "unsafe-eval", "unsafe-hashes", "strict-dynamic", "*"):
        assert f"'{word}'" not in CONTENT_SECURITY_POLICY and f" {word};" not in (
            CONTENT_SECURITY_POLICY)


def _console_paths(app: Flask) -> list[str]:
    paths = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("console") and not rule.arguments and "GET" in rule.methods:
            paths.append(rule.rule)
    return sorted(paths)


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
def test_on_every_page_and_redirect(app: Flask, client: FlaskClient, signed_in: bool) -> None:
    if signed_in:
        sign_in(client)
    paths = _console_paths(app)
    assert {"/", "/ui/", "/ui/sign-in", "/ui/projects/", "/ui/jobs/"} <= set(paths)
    for path in [*paths, "/ui/static/vendor/htmx/htmx.min.js", "/ui/static/console.css",
                 "/ui/no/such/page", "/ui"]:
        with client.get(path) as answer:  # static files are streamed: close them
            assert_secured(answer)
            if answer.status_code == 200 and answer.mimetype == "text/html":
                assert answer.headers["Cache-Control"] == "no-store", path


def test_on_error_answers(signed_in_client: FlaskClient) -> None:
    assert_secured(signed_in_client.post("/ui/sign-out"))  # 403
    assert_secured(signed_in_client.get("/ui/no-such-page"))  # 404
    token = csrf_from(signed_in_client.get("/ui/projects/").text)
    assert_secured(signed_in_client.post("/ui/sign-out", data={"csrf_token": token}))  # 303
