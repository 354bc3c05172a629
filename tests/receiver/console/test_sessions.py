"""Signing in and out, and the session cookie: its flags, its keys, its lifetime."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from receiver.app import create_app
from receiver.console.sessions import COOKIE_NAME
from shared.keys import CONSOLE_SESSION_LABEL, derived_keys
from shared.settings import Settings
from shared.store import Store, generate_secret_key
from tests.receiver.conftest import ADMIN_TOKEN
from tests.receiver.console.conftest import csrf_from


def _app(settings: Settings, store: Store) -> Flask:
    app = create_app(settings, store=store)
    app.config["TESTING"] = True
    return app


def _set_cookie(response: object) -> str:
    [header] = [value for value in response.headers.getlist("Set-Cookie")  # type: ignore[attr-defined]
                if value.startswith(COOKIE_NAME + "=")]
    return str(header)


def _flags(header: str) -> set[str]:
    """The attributes of a Set-Cookie header, lower case (``expires`` left out)."""
    return {part.strip().lower() for part in header.split(";")[1:]
            if not part.strip().lower().startswith("expires")}


def _cookie_value(client: FlaskClient) -> str:
    cookie = client.get_cookie(COOKIE_NAME, path="/ui")
    assert cookie is not None
    return cookie.value


def test_pages_send_someone_not_signed_in_to_the_sign_in_page(client: FlaskClient) -> None:
    answer = client.get("/ui/jobs/?status=failed")

    assert answer.status_code == 303
    assert answer.headers["Location"] == "/ui/sign-in?next=/ui/jobs/?status%3Dfailed"


def test_root_and_ui_lead_to_the_console(client: FlaskClient) -> None:
    assert client.get("/").headers["Location"] == "/ui/"
    assert client.get("/ui/").headers["Location"].startswith("/ui/sign-in")


def test_signing_in_goes_where_the_person_was_going(client: FlaskClient) -> None:
    page = client.get("/ui/sign-in?next=/ui/jobs/")
    answer = client.post("/ui/sign-in", data={"token": ADMIN_TOKEN, "next": "/ui/jobs/",
                                              "csrf_token": csrf_from(page.text)})

    assert answer.status_code == 303
    assert answer.headers["Location"] == "/ui/jobs/"
    jobs = client.get("/ui/jobs/")
    assert jobs.status_code == 200
    assert "Signed in." in jobs.text


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/ui/",
                                    "/api/v1/rules", "/ui/\\evil", "javascript:alert(1)"])
def test_after_signing_in_only_console_pages_are_a_destination(
    client: FlaskClient, target: str
) -> None:
    page = client.get("/ui/sign-in")
    answer = client.post("/ui/sign-in", data={"token": ADMIN_TOKEN, "next": target,
                                              "csrf_token": csrf_from(page.text)})

    assert answer.headers["Location"] == "/ui/"


@pytest.mark.parametrize(("token", "message"), [("wrong", "This is not the admin token."),
                                                ("", "Enter the admin token.")])
def test_a_wrong_or_missing_token_is_refused_beside_the_field(
    client: FlaskClient, token: str, message: str
) -> None:
    page = client.get("/ui/sign-in")
    answer = client.post("/ui/sign-in", data={"token": token,
                                              "csrf_token": csrf_from(page.text)})

    assert answer.status_code == 401
    assert f'<small id="error-token" class="field-error">{message}</small>' in answer.text
    assert 'aria-invalid="true"' in answer.text
    assert client.get("/ui/projects/").status_code == 303


def test_signing_out_locks_the_pages_again(signed_in_client: FlaskClient) -> None:
    page = signed_in_client.get("/ui/projects/")
    assert page.status_code == 200

    answer = signed_in_client.post("/ui/sign-out", data={"csrf_token": csrf_from(page.text)})

    assert answer.status_code == 303
    assert answer.headers["Location"] == "/ui/sign-in"
    assert "Signed out." in signed_in_client.get("/ui/sign-in").text
    assert signed_in_client.get("/ui/projects/").headers["Location"].startswith("/ui/sign-in")


def test_without_an_admin_token_the_console_says_it_is_off_and_how_to_turn_it_on(
    settings: Settings, store: Store
) -> None:
    client = _app(settings.replace(admin_token=""), store).test_client()

    assert client.get("/ui/projects/").headers["Location"].startswith("/ui/sign-in")
    page = client.get("/ui/sign-in")
    assert page.status_code == 200
    assert "The API and the console are off" in page.text
    assert "export CROSSDOCK_ADMIN_TOKEN=" in page.text
    assert "CROSSDOCK_SECRET_KEY=" not in page.text
    assert 'name="token"' not in page.text
    refused = client.post("/ui/sign-in", data={"token": ""})
    assert refused.status_code == 403


def test_without_a_secret_key_there_is_no_session_to_sign_in_with(
    settings: Settings, store: Store
) -> None:
    page = _app(settings.replace(secret_key=""), store).test_client().get("/ui/sign-in")

    assert page.status_code == 200
    assert "export CROSSDOCK_SECRET_KEY=$(crossdock secret-key)" in page.text


def test_the_cookie_is_httponly_samesite_strict_and_only_for_the_console(
    client: FlaskClient,
) -> None:
    header = _set_cookie(client.get("/ui/sign-in"))

    assert _flags(header) == {"httponly", "samesite=strict", "path=/ui"}  # not secure: http


def test_the_cookie_is_secure_over_https(client: FlaskClient) -> None:
    header = _set_cookie(client.get("/ui/sign-in", base_url="https://localhost"))

    assert "secure" in _flags(header)


def test_the_cookie_is_secure_behind_a_tls_proxy(settings: Settings, store: Store) -> None:
    client = _app(settings.replace(behind_tls_proxy=True), store).test_client()

    header = _set_cookie(client.get("/ui/sign-in"))

    assert "secure" in _flags(header)


def test_the_api_and_webhooks_never_get_the_cookie(signed_in_client: FlaskClient) -> None:
    for path in ("/healthz", "/api/v1/rules", "/"):
        answer = signed_in_client.get(path, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert not answer.headers.getlist("Set-Cookie"), path


def test_another_receiver_with_the_same_key_accepts_the_session(
    signed_in_client: FlaskClient, settings: Settings, store: Store
) -> None:
    """Every worker and instance, and the receiver after a restart."""
    other = _app(settings, store).test_client()
    other.set_cookie(COOKIE_NAME, _cookie_value(signed_in_client), path="/ui")

    assert other.get("/ui/projects/").status_code == 200


def test_while_rotating_a_session_signed_with_the_old_key_is_accepted(
    signed_in_client: FlaskClient, settings: Settings, store: Store
) -> None:
    rotated = settings.replace(secret_key=f"{generate_secret_key()},{settings.secret_key}")
    other = _app(rotated, store).test_client()
    other.set_cookie(COOKIE_NAME, _cookie_value(signed_in_client), path="/ui")

    assert other.get("/ui/projects/").status_code == 200


def test_a_session_signed_with_another_key_is_not_accepted(
    signed_in_client: FlaskClient, settings: Settings, store: Store
) -> None:
    stranger = settings.replace(secret_key=generate_secret_key())
    other = create_app(stranger, store=store).test_client()
    other.set_cookie(COOKIE_NAME, _cookie_value(signed_in_client), path="/ui")

    assert other.get("/ui/projects/").status_code == 303


def test_a_new_admin_token_signs_every_session_out(
    signed_in_client: FlaskClient, settings: Settings, store: Store
) -> None:
    other = _app(settings.replace(admin_token="a-new-admin-token-0123"), store).test_client()
    other.set_cookie(COOKIE_NAME, _cookie_value(signed_in_client), path="/ui")

    assert other.get("/ui/projects/").status_code == 303


def test_a_tampered_cookie_is_not_accepted(signed_in_client: FlaskClient) -> None:
    value = _cookie_value(signed_in_client)
    payload, _, signature = value.rpartition(".")
    forged = payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    signed_in_client.set_cookie(COOKIE_NAME, forged, path="/ui")

    assert signed_in_client.get("/ui/projects/").status_code == 303


def test_sessions_are_signed_with_a_key_of_their_own(settings: Settings) -> None:
    """Derived from the secret key under a label of its own, never the Fernet key."""
    [derived] = derived_keys(settings.secret_key, CONSOLE_SESSION_LABEL)

    assert len(derived) == 32
    assert derived != settings.secret_key.encode()
    assert derived not in derived_keys(settings.secret_key, b"another use")
