"""Every request that changes something needs the session's CSRF token."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from receiver.console.csrf import HEADER
from tests.receiver.console.conftest import csrf_from


def _token(client: FlaskClient) -> str:
    return csrf_from(client.get("/ui/projects/").text)


@pytest.mark.parametrize("data", [{}, {"csrf_token": ""}, {"csrf_token": "forged"}])
def test_a_post_without_the_token_is_refused_with_a_403_page(
    signed_in_client: FlaskClient, data: dict[str, str]
) -> None:
    answer = signed_in_client.post("/ui/sign-out", data=data)

    assert answer.status_code == 403
    assert answer.mimetype == "text/html"
    assert "This form had expired" in answer.text
    assert signed_in_client.get("/ui/projects/").status_code == 200  # still signed in


def test_the_token_of_another_session_is_refused(signed_in_client: FlaskClient,
                                                 client: FlaskClient) -> None:
    del client  # the same client: take a token, then start a new session
    token = _token(signed_in_client)
    signed_in_client.delete_cookie("crossdock_console", path="/ui")

    answer = signed_in_client.post("/ui/sign-in", data={"csrf_token": token, "token": "x"})

    assert answer.status_code == 403


def test_the_sign_in_form_needs_it_too(client: FlaskClient) -> None:
    client.get("/ui/sign-in")

    assert client.post("/ui/sign-in", data={"token": "whatever"}).status_code == 403


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_other_changing_methods_need_it(signed_in_client: FlaskClient, method: str) -> None:
    assert signed_in_client.open("/ui/projects/", method=method).status_code == 403


def test_the_form_field_or_the_htmx_header_carries_it(signed_in_client: FlaskClient) -> None:
    token = _token(signed_in_client)
    by_header = signed_in_client.post("/ui/sign-out",
                                      headers={HEADER: token, "HX-Request": "true"})

    assert by_header.status_code == 204
    assert by_header.headers["HX-Redirect"] == "/ui/sign-in"


def test_an_htmx_post_without_it_gets_an_alert_for_the_alert_area(
    signed_in_client: FlaskClient,
) -> None:
    answer = signed_in_client.post("/ui/sign-out", headers={"HX-Request": "true"})

    assert answer.status_code == 403
    assert answer.headers["HX-Retarget"] == "#console-alerts"
    assert answer.text.lstrip().startswith('<div class="flash flash-error" role="alert">')
