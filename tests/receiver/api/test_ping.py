"""``POST /api/v1/endpoints/ping`` (Test Connection) against real registries: plain,
htpasswd, TLS, token auth, a closed port, deletes disabled, and the Harbor fake."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.receiver.api.conftest import Api
from tests.support.harbor import HarborFake
from tests.support.registry_server import RegistryServer, free_port


def checks(answer: dict[str, Any]) -> dict[str, tuple[bool, str]]:
    return {check["name"]: (check["ok"], check["message"]) for check in answer["checks"]}


def ping(api: Api, **body: Any) -> dict[str, Any]:
    return api.ok("POST", "/endpoints/ping", body)  # type: ignore[no-any-return]


def test_a_plain_registry_is_ready(api: Api, registry: RegistryServer) -> None:
    answer = ping(api, url=registry.url, project="lib")

    assert answer["ok"] is True and answer["kind"] == "registry"
    found = checks(answer)
    assert list(found) == ["connection", "registry", "kind", "credentials", "push", "delete"]
    assert all(ok for ok, _message in found.values())
    assert "lib/crossdock-connection-test" in found["push"][1]
    assert answer["message"].startswith("ready")
    # Nothing was left behind: the upload was cancelled.
    assert registry.session().get(f"{registry.url}/v2/_catalog").json() == {"repositories": []}


def test_a_stored_endpoint_is_tested_by_name(api: Api, htpasswd_registry: RegistryServer) -> None:
    api.endpoint("basic", htpasswd_registry.url, username=htpasswd_registry.username,
                 password=htpasswd_registry.password)

    assert ping(api, name="basic")["ok"] is True
    wrong = ping(api, name="basic", password="not-the-password")
    assert wrong["ok"] is False
    ok, message = checks(wrong)["credentials"]
    assert not ok and "401" in message and htpasswd_registry.username in message


def test_htpasswd_without_credentials_says_a_login_is_needed(
    api: Api, htpasswd_registry: RegistryServer
) -> None:
    answer = ping(api, url=htpasswd_registry.url)

    assert answer["ok"] is False
    assert "requires a login" in answer["message"]
    assert "push" not in checks(answer)


def test_tls_without_the_ca_says_so_and_with_it_works(
    api: Api, tls_registry: RegistryServer
) -> None:
    without = ping(api, url=tls_registry.url)
    with_ca = ping(api, url=tls_registry.url, ca_bundle=str(tls_registry.ca_path))
    unverified = ping(api, url=tls_registry.url, verify_tls=False)
    missing = ping(api, url=tls_registry.url, ca_bundle="/nonexistent/ca.pem")
    plain_to_tls = ping(api, url=tls_registry.url.replace("https", "http"))

    assert without["ok"] is False
    ok, message = checks(without)["tls"]
    assert not ok and "certificate verify failed" in message and "ca_bundle" in message
    assert with_ca["ok"] is True and "CA bundle" in checks(with_ca)["tls"][1]
    assert unverified["ok"] is True and "NOT verified" in checks(unverified)["tls"][1]
    assert missing["ok"] is False and "not a readable file" in missing["message"]
    assert plain_to_tls["ok"] is False and "tls" in checks(plain_to_tls)


def test_http_to_a_tls_registry_says_the_registry_speaks_https(
    api: Api, tls_registry: RegistryServer
) -> None:
    answer = ping(api, url=tls_registry.url.replace("https://", "http://"))

    assert answer["ok"] is False
    ok, message = checks(answer)["tls"]
    assert not ok
    assert "answered 400" in message and "the registry speaks https there" in message
    assert "use an https:// URL" in message and answer["message"] == message


def test_https_to_a_plain_http_registry_says_so(api: Api, registry: RegistryServer) -> None:
    answer = ping(api, url=registry.url.replace("http", "https"))
    assert answer["ok"] is False and "use an http:// URL" in checks(answer)["tls"][1]


def test_a_closed_port_is_connection_refused(api: Api) -> None:
    answer = ping(api, url=f"http://127.0.0.1:{free_port()}")

    assert answer == {"ok": False, "kind": None, "url": answer["url"], "message": answer["message"],
                      "checks": answer["checks"]}
    ok, message = checks(answer)["connection"]
    assert not ok and "connection refused" in message
    assert "connection refused" in answer["message"]


def test_a_registry_with_deletes_disabled_is_ready_but_says_deletes_fail(
    api: Api, nodelete_registry: RegistryServer
) -> None:
    answer = ping(api, url=nodelete_registry.url)

    assert answer["ok"] is True
    ok, message = checks(answer)["delete"]
    assert not ok and "deletes are disabled" in message


def test_a_token_registry_without_push_rights_fails_the_push_check(
    api: Api, registry_factory: Callable[..., RegistryServer],
    token_server_factory: Callable[..., Any],
) -> None:
    tokens = token_server_factory(users={"alice": "s3cret", "reader": "r3ad"},
                                  allowed_actions={"reader": ["pull"]})
    server = registry_factory(auth="token", token_server=tokens)

    writer = ping(api, url=server.url, username="alice", password="s3cret", project="lib")
    reader = ping(api, url=server.url, username="reader", password="r3ad", project="lib")
    bad = ping(api, url=server.url, username="alice", password="wrong")

    assert writer["ok"] is True
    assert reader["ok"] is False
    ok, message = checks(reader)["push"]
    assert not ok and "may not push into lib/crossdock-connection-test" in message
    assert checks(reader)["delete"][0] is False
    assert bad["ok"] is False and "refused" in checks(bad)["credentials"][1]


def test_a_kind_that_does_not_match_the_registry_fails(api: Api, registry: RegistryServer) -> None:
    answer = ping(api, url=registry.url, kind="harbor")
    assert answer["ok"] is False and answer["kind"] == "registry"
    assert "set kind to registry" in checks(answer)["kind"][1]


def test_harbor_is_detected_and_project_rights_are_checked(api: Api, harbor: HarborFake) -> None:
    harbor.create_project("lib")
    harbor.add_user("dev", "Dev12345")
    harbor.add_member("lib", "dev", "developer")
    harbor.add_user("stranger", "Str12345")
    admin = {"url": harbor.url, "username": "admin", "password": "Harbor12345"}

    as_admin = ping(api, **admin, project="lib")
    as_developer = ping(api, url=harbor.url, username="dev", password="Dev12345", project="lib")
    missing_project = ping(api, **admin, project="newproj")
    wrong_password = ping(api, url=harbor.url, username="admin", password="nope",
                          project="lib")
    stranger = ping(api, url=harbor.url, username="stranger", password="Str12345",
                    project="lib")

    assert as_admin["ok"] is True and as_admin["kind"] == "harbor"
    assert "Pong" in checks(as_admin)["kind"][1]
    assert checks(as_admin)["push"][0] and checks(as_admin)["delete"][0]
    assert as_developer["ok"] is True
    assert checks(as_developer)["delete"][0] is False
    assert missing_project["ok"] is True
    assert "does not exist yet" in checks(missing_project)["push"][1]
    assert wrong_password["ok"] is False
    assert checks(wrong_password)["credentials"][0] is False
    assert stranger["ok"] is False and "not visible to stranger" in stranger["message"]


@pytest.mark.parametrize(("body", "field"), [
    ({}, "url"),
    ({"url": "http://x", "project": "a/b"}, "project"),
    ({"url": "http://x", "timeout": 3}, "timeout"),
    ({"name": "Bad Name"}, "name"),
])
def test_ping_input_is_validated(api: Api, body: dict[str, Any], field: str) -> None:
    response = api.post("/endpoints/ping", body)
    assert response.status_code == 400 and field in response.get_json()["error"]["fields"]


def test_pinging_an_unknown_endpoint_is_a_404(api: Api) -> None:
    assert api.post("/endpoints/ping", {"name": "ghost"}).status_code == 404
