"""The Harbor fake, spoken to as a client would: plain `requests`, real image pushes.

Each test reads as a row of protocols.md §1.3, §8.1 or §11 checked against the fake.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urljoin

import pytest
import requests

from shared.registry import RegistryClient
from shared.registry.transport import RegistryConfig
from tests.harbor.conftest import Listener
from tests.support import images
from tests.support.harbor import HarborFake
from tests.support.harbor.client import bearer_session, cookieless_session, token_claims
from tests.support.harbor_fixtures import HARBOR_ADMIN
from tests.support.images import MANIFEST_ACCEPT, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, PushError
from tests.support.registry_server import free_port

API = "/api/v2.0"
ADMIN = HARBOR_ADMIN


# -- helpers ---------------------------------------------------------------------------------


def repo_segment(full_name: str) -> str:
    """The `{repository_name}` path segment: the part after the project, encoded twice."""
    return quote(quote(full_name.split("/", 1)[1], safe=""), safe="")


def artifacts_url(harbor: HarborFake, full_name: str) -> str:
    project = full_name.split("/", 1)[0]
    return f"{harbor.url}{API}/projects/{project}/repositories/{repo_segment(full_name)}/artifacts"


def token_response(
    harbor: HarborFake, scopes: list[str], auth: tuple[str, str] | None = None
) -> requests.Response:
    with cookieless_session() as session:
        return session.get(
            f"{harbor.url}/service/token",
            params={"service": "harbor-registry", "scope": scopes},
            auth=auth,
            timeout=10,
        )


def granted(harbor: HarborFake, scope: str, auth: tuple[str, str] | None = None) -> list[str]:
    resp = token_response(harbor, [scope], auth)
    assert resp.status_code == 200, resp.text
    access: list[dict[str, Any]] = token_claims(resp.json()["token"])["access"]
    return sorted(access[0]["actions"])


def push(
    harbor: HarborFake, repo: str, tag: str | None, auth: tuple[str, str] = ADMIN, **kwargs: Any
) -> images.PushedImage:
    with bearer_session(harbor.url, *auth, repo) as session:
        return images.push_image(harbor.url, repo, tag, session=session, **kwargs)


def state(harbor: HarborFake, repo: str) -> dict[str, str]:
    with bearer_session(harbor.url, *ADMIN, repo) as session:
        return images.list_state(harbor.url, repo, session=session)


def tags_by_digest(artifacts: list[dict[str, Any]]) -> dict[str, list[str]]:
    return {a["digest"]: sorted(t["name"] for t in a["tags"] or []) for a in artifacts}


@pytest.fixture
def dev(harbor: HarborFake) -> tuple[str, str]:
    """`dev` is a developer of the private project `lib`."""
    harbor.create_project("lib")
    harbor.add_user("dev", "devpass")
    harbor.add_member("lib", "dev", "developer")
    return ("dev", "devpass")


# -- test-connection checks (§11.4) -------------------------------------------------------------


def test_ping_answers_pong_as_plain_text_without_auth(
    harbor: HarborFake, api: requests.Session
) -> None:
    resp = api.get(f"{harbor.url}{API}/ping", timeout=10)

    assert resp.status_code == 200
    assert resp.text == "Pong"
    assert resp.headers["Content-Type"].startswith("text/plain")


def test_systeminfo_shows_the_version_only_to_accepted_credentials(
    harbor: HarborFake, api: requests.Session
) -> None:
    anonymous = api.get(f"{harbor.url}{API}/systeminfo", timeout=10)
    wrong = api.get(f"{harbor.url}{API}/systeminfo", auth=("admin", "nope"), timeout=10)
    admin = api.get(f"{harbor.url}{API}/systeminfo", auth=ADMIN, timeout=10)

    assert anonymous.status_code == wrong.status_code == admin.status_code == 200
    assert "harbor_version" not in anonymous.json()
    assert "harbor_version" not in wrong.json()  # wrong credentials fall back to anonymous
    assert admin.json()["harbor_version"].startswith("v2.")
    assert admin.json()["external_url"] == harbor.url
    assert admin.json()["notification_enable"] is True


def test_health_reports_every_component_healthy(harbor: HarborFake, api: requests.Session) -> None:
    body = api.get(f"{harbor.url}{API}/health", timeout=10).json()

    assert body["status"] == "healthy"
    assert {c["name"] for c in body["components"]} >= {"core", "registry"}


def test_users_current_is_401_for_bad_credentials_and_412_for_robots(
    harbor: HarborFake, api: requests.Session
) -> None:
    harbor.create_project("lib")
    robot = harbor.add_robot("lib", "ci", "s3cret", [("repository", "push")])
    url = f"{harbor.url}{API}/users/current"

    admin = api.get(url, auth=ADMIN, timeout=10)
    bad = api.get(url, auth=("admin", "wrong"), timeout=10)
    anonymous = api.get(url, timeout=10)
    as_robot = api.get(url, auth=(robot, "s3cret"), timeout=10)

    assert admin.status_code == 200
    assert admin.json()["username"] == "admin"
    assert admin.json()["sysadmin_flag"] is True
    assert bad.status_code == anonymous.status_code == 401
    assert bad.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert robot == "robot$lib+ci"
    assert as_robot.status_code == 412


def test_permissions_list_role_pairs_in_a_numeric_project_scope(
    harbor: HarborFake, api: requests.Session, dev: tuple[str, str]
) -> None:
    project = harbor.project("lib")
    assert project is not None
    url = f"{harbor.url}{API}/users/current/permissions"

    relative = api.get(url, params={"scope": f"/project/{project.project_id}", "relative": "true"},
                       auth=dev, timeout=10).json()
    absolute = api.get(url, params={"scope": f"/project/{project.project_id}"},
                       auth=dev, timeout=10).json()
    by_name = api.get(url, params={"scope": "/project/lib", "relative": "true"},
                      auth=dev, timeout=10).json()

    pairs = {(p["resource"], p["action"]) for p in relative}
    assert ("repository", "push") in pairs
    assert ("repository", "pull") in pairs
    assert ("artifact", "delete") not in pairs  # developers cannot delete
    assert ("tag", "delete") not in pairs
    assert {"resource": f"/project/{project.project_id}/repository", "action": "push"} in absolute
    assert by_name == []
    assert api.get(url, params={"scope": "/project/1"}, timeout=10).status_code == 401


def test_robot_permissions_are_its_access_list_with_pull_implied_by_push(
    harbor: HarborFake, api: requests.Session
) -> None:
    project = harbor.create_project("lib")
    robot = harbor.add_robot("lib", "ci", "s3cret", [("repository", "push")])

    body = api.get(f"{harbor.url}{API}/users/current/permissions",
                   params={"scope": f"/project/{project.project_id}", "relative": "true"},
                   auth=(robot, "s3cret"), timeout=10).json()

    assert sorted((p["resource"], p["action"]) for p in body) == [
        ("repository", "pull"), ("repository", "push")
    ]


# -- projects (§8.1) --------------------------------------------------------------------------


def test_head_project_answers_200_404_and_401_for_anonymous(
    harbor: HarborFake, api: requests.Session
) -> None:
    harbor.create_project("lib")
    url = f"{harbor.url}{API}/projects"

    assert api.head(url, params={"project_name": "lib"}, auth=ADMIN, timeout=10).status_code == 200
    assert api.head(url, params={"project_name": "nope"}, auth=ADMIN, timeout=10).status_code == 404
    assert api.head(url, params={"project_name": "lib"}, timeout=10).status_code == 401


def test_create_project_answers_201_with_location_then_409_for_a_duplicate(
    harbor: HarborFake, api: requests.Session
) -> None:
    url = f"{harbor.url}{API}/projects"
    body = {"project_name": "team", "metadata": {"public": "false"}}

    created = api.post(url, json=body, auth=ADMIN, timeout=10)
    again = api.post(url, json=body, auth=ADMIN, timeout=10)

    assert created.status_code == 201
    project = harbor.project("team")
    assert project is not None and not project.public
    assert created.headers["Location"] == f"/api/v2.0/projects/{project.project_id}"
    assert again.status_code == 409
    assert again.json()["errors"][0] == {
        "code": "CONFLICT", "message": "The project named team already exists"
    }


@pytest.mark.parametrize(
    "body",
    [
        {"project_name": "Bad_Name"},
        {"project_name": "-lead"},
        {"project_name": "ok", "metadata": {"public": False}},  # must be the string "false"
        {"metadata": {"public": "true"}},
    ],
)
def test_create_project_rejects_bad_names_and_metadata_with_400(
    harbor: HarborFake, api: requests.Session, body: dict[str, Any]
) -> None:
    resp = api.post(f"{harbor.url}{API}/projects", json=body, auth=ADMIN, timeout=10)

    assert resp.status_code == 400
    assert resp.json()["errors"][0]["code"] == "BAD_REQUEST"


def test_create_project_is_401_anonymous_and_403_for_non_admins_when_admin_only(
    harbor: HarborFake, api: requests.Session
) -> None:
    harbor.add_user("bob", "bobpass")
    url = f"{harbor.url}{API}/projects"
    body = {"project_name": "bobs"}

    anonymous = api.post(url, json=body, timeout=10)
    harbor.only_admin_create_project = True
    refused = api.post(url, json=body, auth=("bob", "bobpass"), timeout=10)
    by_admin = api.post(url, json=body, auth=ADMIN, timeout=10)

    assert anonymous.status_code == 401
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "FORBIDDEN"
    assert by_admin.status_code == 201


def test_creator_becomes_project_admin_and_may_read_it(
    harbor: HarborFake, api: requests.Session
) -> None:
    harbor.add_user("bob", "bobpass")
    api.post(f"{harbor.url}{API}/projects", json={"project_name": "bobs"},
             auth=("bob", "bobpass"), timeout=10)

    got = api.get(f"{harbor.url}{API}/projects/bobs", auth=("bob", "bobpass"), timeout=10)

    assert got.status_code == 200
    assert got.json()["name"] == "bobs"
    assert got.json()["current_user_role_ids"] == [1]
    assert got.json()["metadata"] == {"public": "false"}


def test_get_project_hides_private_and_missing_projects_behind_401_and_403(
    harbor: HarborFake, api: requests.Session, dev: tuple[str, str]
) -> None:
    harbor.add_user("eve", "evepass")
    lib = harbor.project("lib")
    assert lib is not None
    url = f"{harbor.url}{API}/projects"

    assert api.get(f"{url}/lib", auth=dev, timeout=10).status_code == 200
    assert api.get(f"{url}/{lib.project_id}", auth=dev, timeout=10).json()["name"] == "lib"
    assert api.get(f"{url}/lib", auth=("eve", "evepass"), timeout=10).status_code == 403
    assert api.get(f"{url}/lib", timeout=10).status_code == 401
    assert api.get(f"{url}/nope", auth=dev, timeout=10).status_code == 403
    assert api.get(f"{url}/nope", auth=ADMIN, timeout=10).status_code == 403
    assert api.get(f"{url}/999", auth=ADMIN, timeout=10).status_code == 404
    assert api.get(f"{url}/library", timeout=10).status_code == 200  # public


def test_all_digit_project_names_need_the_is_resource_name_header(
    harbor: HarborFake, api: requests.Session
) -> None:
    harbor.create_project("2024")
    url = f"{harbor.url}{API}/projects/2024"

    as_id = api.get(url, auth=ADMIN, timeout=10)
    as_name = api.get(url, auth=ADMIN, headers={"X-Is-Resource-Name": "true"}, timeout=10)

    assert as_id.status_code == 404
    assert as_name.json()["name"] == "2024"


def test_project_search_by_name_is_fuzzy_and_by_q_is_exact(
    harbor: HarborFake, api: requests.Session
) -> None:
    for name in ("lib", "lib-extra", "other"):
        harbor.create_project(name)
    url = f"{harbor.url}{API}/projects"

    fuzzy = api.get(url, params={"name": "lib"}, auth=ADMIN, timeout=10)
    exact = api.get(f"{url}?q=name%3Dlib", auth=ADMIN, timeout=10)

    assert sorted(p["name"] for p in fuzzy.json()) == ["lib", "lib-extra", "library"]
    assert [p["name"] for p in exact.json()] == ["lib"]
    assert exact.headers["X-Total-Count"] == "1"


# -- CSRF (§8.1) --------------------------------------------------------------------------------


def test_a_session_cookie_from_the_token_service_gets_api_posts_403(harbor: HarborFake) -> None:
    with requests.Session() as keeps_cookies:
        keeps_cookies.trust_env = False
        keeps_cookies.get(f"{harbor.url}/service/token", auth=ADMIN,
                          params={"service": "harbor-registry"}, timeout=10)
        assert "sid" in keeps_cookies.cookies

        read = keeps_cookies.get(f"{harbor.url}{API}/projects", auth=ADMIN, timeout=10)
        post = keeps_cookies.post(f"{harbor.url}{API}/projects", json={"project_name": "x"},
                                  auth=ADMIN, timeout=10)

    assert read.status_code == 200
    assert post.status_code == 403
    assert post.json()["errors"][0] == {"code": "FORBIDDEN", "message": "CSRF token invalid"}
    assert harbor.project("x") is None


def test_the_csrf_rule_covers_v2_uploads_too(harbor: HarborFake) -> None:
    harbor.create_project("lib")
    with requests.Session() as keeps_cookies:
        keeps_cookies.trust_env = False
        token = keeps_cookies.get(f"{harbor.url}/service/token", auth=ADMIN, timeout=10, params={
            "service": "harbor-registry", "scope": "repository:lib/app:pull,push"
        }).json()["token"]
        keeps_cookies.headers["Authorization"] = f"Bearer {token}"

        upload = keeps_cookies.post(f"{harbor.url}/v2/lib/app/blobs/uploads/", timeout=10)
        keeps_cookies.cookies.clear()
        without_cookie = keeps_cookies.post(f"{harbor.url}/v2/lib/app/blobs/uploads/", timeout=10)

    assert upload.status_code == 403
    assert without_cookie.status_code == 202


# -- token service (§1.3, §11.4) ----------------------------------------------------------------


def test_token_body_has_harbor_shape_and_sets_a_session_cookie(harbor: HarborFake) -> None:
    resp = token_response(harbor, ["repository:library/x:pull"], ADMIN)

    body = resp.json()
    assert resp.status_code == 200
    assert set(body) == {"token", "access_token", "expires_in", "issued_at"}
    assert body["access_token"] == ""
    assert body["expires_in"] == 1800
    assert token_claims(body["token"])["sub"] == "admin"
    assert token_claims(body["token"])["aud"] == "harbor-registry"
    assert "sid=" in resp.headers["Set-Cookie"]


def test_grant_is_the_role_not_the_intersection_with_the_request(
    harbor: HarborFake, dev: tuple[str, str]
) -> None:
    harbor.add_user("guest", "guestpass")
    harbor.add_member("lib", "guest", "guest")
    harbor.add_user("maint", "maintpass")
    harbor.add_member("lib", "maint", "maintainer")

    assert granted(harbor, "repository:lib/app:pull", dev) == ["pull", "push"]
    assert granted(harbor, "repository:lib/app:pull,push", ("guest", "guestpass")) == ["pull"]
    assert granted(harbor, "repository:lib/any/thing:pull", ("maint", "maintpass")) == [
        "*", "delete", "pull", "push"
    ]


def test_scopes_on_missing_projects_or_unknown_types_get_empty_actions(
    harbor: HarborFake,
) -> None:
    assert granted(harbor, "repository:nope/app:pull,push", ADMIN) == []
    assert granted(harbor, "plugin:lib/app:pull", ADMIN) == []


def test_bad_credentials_with_a_scope_get_anonymous_rights_not_401(harbor: HarborFake) -> None:
    harbor.create_project("lib")
    harbor.create_project("pub", public=True)
    wrong = ("admin", "wrong")

    assert granted(harbor, "repository:pub/app:pull,push", wrong) == ["pull"]
    assert granted(harbor, "repository:lib/app:pull", wrong) == []
    assert token_response(harbor, [], wrong).status_code == 401
    assert token_response(harbor, [], None).status_code == 401
    assert token_response(harbor, [], ADMIN).status_code == 200


def test_catalog_scope_is_granted_to_system_admins_only(
    harbor: HarborFake, dev: tuple[str, str]
) -> None:
    assert granted(harbor, "registry:catalog:*", ADMIN) == ["*"]
    assert granted(harbor, "registry:catalog:*", dev) == []


def test_tokens_are_trusted_by_the_real_registry(
    harbor: HarborFake, admin_v2: requests.Session
) -> None:
    pushed = images.push_image(harbor.url, "lib/app", "v1", session=admin_v2)

    direct = requests.head(
        f"{harbor.registry.url}/v2/lib/app/manifests/v1",
        headers={"Accept": MANIFEST_ACCEPT, "Authorization": admin_v2.headers["Authorization"]},
        timeout=10,
    )
    assert direct.headers["Docker-Content-Digest"] == pushed.digest


# -- /v2 (§1.3, §3.4, §8.1) ----------------------------------------------------------------------


def test_push_into_a_missing_project_is_401_project_not_found_until_it_is_created(
    harbor: HarborFake, api: requests.Session
) -> None:
    with pytest.raises(PushError, match=r"401.*project team not found"):
        push(harbor, "team/app", "v1")

    api.post(f"{harbor.url}{API}/projects", json={"project_name": "team"}, auth=ADMIN, timeout=10)
    pushed = push(harbor, "team/app", "v1")

    assert state(harbor, "team/app") == {"v1": pushed.digest}


def test_manifest_put_into_a_missing_project_is_refused_before_the_registry(
    harbor: HarborFake,
) -> None:
    with bearer_session(harbor.url, *ADMIN, "team/app") as session:
        resp = session.put(f"{harbor.url}/v2/team/app/manifests/v1", data=b"{}",
                           headers={"Content-Type": OCI_MANIFEST}, timeout=10)

    assert resp.status_code == 401
    assert resp.json()["errors"][0] == {"code": "UNAUTHORIZED", "message": "project team not found"}


def test_v2_challenge_points_at_the_fakes_token_service(harbor: HarborFake) -> None:
    harbor.create_project("lib")
    resp = requests.head(f"{harbor.url}/v2/lib/app/manifests/v1", timeout=10)

    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == (
        f'Bearer realm="{harbor.url}/service/token",service="harbor-registry",'
        'scope="repository:lib/app:pull"'
    )


def test_crossdock_client_does_the_bearer_dance_through_the_fake(
    harbor: HarborFake, admin_v2: requests.Session
) -> None:
    pushed = images.push_image(harbor.url, "lib/app", "v1", session=admin_v2)
    client = RegistryClient(RegistryConfig(url=harbor.url, username="admin", password=ADMIN[1]))
    try:
        head = client.head_manifest("lib/app", "v1")
    finally:
        client.close()

    assert head is not None and head.digest == pushed.digest
    assert client.transport.auth_scheme == "bearer"


def test_basic_credentials_work_on_v2_and_bad_ones_get_a_basic_challenge(
    harbor: HarborFake,
) -> None:
    harbor.create_project("lib")
    with cookieless_session() as basic:
        basic.auth = ADMIN
        pushed = images.push_image(harbor.url, "lib/app", "v1", session=basic)
        login = basic.get(f"{harbor.url}/v2/", timeout=10)
    bad = requests.get(f"{harbor.url}/v2/", auth=("admin", "wrong"), timeout=10)

    assert state(harbor, "lib/app") == {"v1": pushed.digest}
    assert login.status_code == 200
    assert bad.status_code == 401
    assert bad.headers["WWW-Authenticate"] == 'Basic realm="harbor"'


def test_a_denied_push_with_a_token_is_401_with_a_basic_challenge(
    harbor: HarborFake, dev: tuple[str, str]
) -> None:
    harbor.add_user("guest", "guestpass")
    harbor.add_member("lib", "guest", "guest")

    denied = r"401.*unauthorized to access repository: lib/app, action: push"
    with pytest.raises(PushError, match=denied):
        push(harbor, "lib/app", "v1", auth=("guest", "guestpass"))
    resp = requests.post(f"{harbor.url}/v2/lib/app/blobs/uploads/", auth=("guest", "guestpass"),
                         timeout=10)

    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == 'Basic realm="harbor"'


def test_v2_tag_delete_is_400_unsupported_and_keeps_the_tag(
    harbor: HarborFake, admin_v2: requests.Session
) -> None:
    pushed = images.push_image(harbor.url, "lib/app", "v1", session=admin_v2)

    resp = admin_v2.delete(f"{harbor.url}/v2/lib/app/manifests/v1", timeout=10)
    anonymous = requests.delete(f"{harbor.url}/v2/lib/app/manifests/v1", timeout=10)

    assert resp.status_code == 400
    assert resp.json()["errors"][0]["code"] == "UNSUPPORTED"
    assert anonymous.status_code == 401
    assert state(harbor, "lib/app") == {"v1": pushed.digest}


def test_upload_locations_point_back_at_the_fake(
    harbor: HarborFake, admin_v2: requests.Session
) -> None:
    started = admin_v2.post(f"{harbor.url}/v2/lib/app/blobs/uploads/", timeout=10)

    location = urljoin(started.url, started.headers["Location"])
    assert started.status_code == 202
    assert location.startswith(f"{harbor.url}/v2/lib/app/blobs/uploads/")
    assert harbor.registry.url not in started.headers["Location"]


def test_chunked_uploads_stream_through_the_fake(
    harbor: HarborFake, admin_v2: requests.Session
) -> None:
    pushed = images.push_image(harbor.url, "lib/app", "big", layers=(images.CHUNK_SIZE + 1234,),
                               session=admin_v2)

    assert state(harbor, "lib/app") == {"big": pushed.digest}


def test_chunked_transfer_encoding_request_bodies_pass_through(
    harbor: HarborFake, admin_v2: requests.Session
) -> None:
    data = b"x" * 200_000
    digest = images.sha256_digest(data)
    started = admin_v2.post(f"{harbor.url}/v2/lib/app/blobs/uploads/", timeout=10)
    location = urljoin(started.url, started.headers["Location"])

    patched = admin_v2.patch(location, data=iter([data[:70_000], data[70_000:]]), timeout=10)
    done = admin_v2.put(images.add_query(urljoin(location, patched.headers["Location"]),
                                         digest=digest), timeout=10)
    head = admin_v2.head(f"{harbor.url}/v2/lib/app/blobs/{digest}", timeout=10)

    assert patched.status_code == 202
    assert done.status_code == 201
    assert int(head.headers["Content-Length"]) == len(data)


def test_pulls_stream_the_exact_bytes_back_through_the_fake(
    harbor: HarborFake, admin_v2: requests.Session
) -> None:
    pushed = images.push_image(harbor.url, "lib/app", "v1", layers=(300_000,), session=admin_v2)
    layer_digest, layer_size = pushed.blobs[1]

    manifest = admin_v2.get(f"{harbor.url}/v2/lib/app/manifests/v1",
                            headers={"Accept": MANIFEST_ACCEPT}, timeout=10)
    blob = admin_v2.get(f"{harbor.url}/v2/lib/app/blobs/{layer_digest}", timeout=10)

    assert manifest.content == pushed.manifest_bytes
    assert manifest.headers["Content-Type"] == OCI_MANIFEST
    assert manifest.headers["Docker-Content-Digest"] == pushed.digest
    assert len(blob.content) == layer_size == int(blob.headers["Content-Length"])
    assert images.sha256_digest(blob.content) == layer_digest


def test_catalog_is_for_system_admins_only(harbor: HarborFake, dev: tuple[str, str]) -> None:
    push(harbor, "lib/app", "v1")
    admin_token = token_response(harbor, ["registry:catalog:*"], ADMIN).json()["token"]
    dev_token = token_response(harbor, ["registry:catalog:*"], dev).json()["token"]

    as_admin = requests.get(f"{harbor.url}/v2/_catalog",
                            headers={"Authorization": f"Bearer {admin_token}"}, timeout=10)
    as_dev = requests.get(f"{harbor.url}/v2/_catalog",
                          headers={"Authorization": f"Bearer {dev_token}"}, timeout=10)

    assert as_admin.json()["repositories"] == ["lib/app"]
    assert as_dev.status_code == 401
    assert as_dev.headers["WWW-Authenticate"] == 'Basic realm="harbor"'


# -- listing (§11.2) -----------------------------------------------------------------------------


def test_repositories_are_paged_with_total_and_path_relative_links(
    harbor: HarborFake, api: requests.Session
) -> None:
    harbor.create_project("lib")
    for repo in ("lib/a", "lib/b/c", "lib/d"):
        push(harbor, repo, "v1", layers=(64,))
    url = f"{harbor.url}{API}/projects/lib/repositories"

    first = api.get(url, params={"page": 1, "page_size": 2}, auth=ADMIN, timeout=10)
    second = api.get(urljoin(first.url, first.links["next"]["url"]), auth=ADMIN, timeout=10)

    assert [r["name"] for r in first.json()] == ["lib/a", "lib/b/c"]
    assert first.headers["X-Total-Count"] == "3"
    assert first.headers["Link"] == (
        '</api/v2.0/projects/lib/repositories?page=2&page_size=2>; rel="next"'
    )
    assert [r["name"] for r in second.json()] == ["lib/d"]
    assert second.links["prev"]["url"].endswith("page=1&page_size=2")
    assert "next" not in second.links
    assert first.json()[0]["artifact_count"] == 1


def test_page_size_above_100_is_422(harbor: HarborFake, api: requests.Session) -> None:
    resp = api.get(f"{harbor.url}{API}/projects/library/repositories",
                   params={"page_size": 101}, auth=ADMIN, timeout=10)

    assert resp.status_code == 422
    assert resp.json()["errors"][0]["code"] == "UNPROCESSABLE_ENTITY"


def test_artifacts_of_a_nested_repository_need_the_name_encoded_twice(
    harbor: HarborFake, api: requests.Session
) -> None:
    harbor.create_project("lib")
    image = push(harbor, "lib/team/app", "v1", layers=(100, 200))
    older = push(harbor, "lib/team/app", "v0", layers=(10,))
    url = artifacts_url(harbor, "lib/team/app")

    twice = api.get(url, params={"page_size": 1, "page": 2}, auth=ADMIN, timeout=10)
    first = api.get(urljoin(twice.url, twice.links["prev"]["url"]), auth=ADMIN, timeout=10)
    once = api.get(f"{harbor.url}{API}/projects/lib/repositories/team%2Fapp/artifacts",
                   auth=ADMIN, timeout=10)

    assert twice.status_code == 200
    assert "/repositories/team%252Fapp/artifacts?page=1&page_size=1" in twice.headers["Link"]
    assert once.status_code == 404
    assert [a["digest"] for a in first.json()] == [older.digest]  # newest push first
    [artifact] = twice.json()
    config_size = image.blobs[0][1]
    assert artifact["digest"] == image.digest
    assert artifact["manifest_media_type"] == OCI_MANIFEST
    assert artifact["media_type"] == OCI_CONFIG
    assert artifact["size"] == image.size + config_size + 100 + 200
    assert artifact["push_time"].endswith("Z")
    assert [t["name"] for t in artifact["tags"]] == ["v1"]


def test_artifacts_list_every_tag_and_untagged_images_but_not_index_children(
    harbor: HarborFake, api: requests.Session
) -> None:
    harbor.create_project("lib")
    with bearer_session(harbor.url, *ADMIN, "lib/app") as session:
        index = images.push_index(harbor.url, "lib/app", "multi", session=session)
        image = images.push_image(harbor.url, "lib/app", "v1", session=session)
        retag = session.put(f"{harbor.url}/v2/lib/app/manifests/latest", data=image.manifest_bytes,
                            headers={"Content-Type": image.media_type}, timeout=10)
        loose = images.push_image(harbor.url, "lib/app", None, session=session)
    assert retag.status_code == 201

    listed = api.get(artifacts_url(harbor, "lib/app"), auth=ADMIN, timeout=10).json()
    with_children = api.get(artifacts_url(harbor, "lib/app"), params={"q": "base=*"},
                            auth=ADMIN, timeout=10).json()

    assert tags_by_digest(listed) == {
        index.digest: ["multi"], image.digest: ["latest", "v1"], loose.digest: []
    }
    [index_artifact] = [a for a in listed if a["digest"] == index.digest]
    assert index_artifact["manifest_media_type"] == index_artifact["media_type"] == OCI_INDEX
    assert {r["child_digest"] for r in index_artifact["references"]} == {
        c.digest for c in index.children
    }
    assert len(with_children) == 5


def test_artifact_listing_pages_and_filters_by_tag_presence(
    harbor: HarborFake, api: requests.Session
) -> None:
    harbor.create_project("lib")
    for tag in ("a", "b", "c"):
        push(harbor, "lib/app", tag, layers=(32,))
    push(harbor, "lib/app", None, layers=(32,))
    url = artifacts_url(harbor, "lib/app")

    page = api.get(f"{url}?page=2&page_size=3&with_tag=true", auth=ADMIN, timeout=10)
    tagged = api.get(url, params={"q": "tags=*"}, auth=ADMIN, timeout=10).json()
    untagged = api.get(url, params={"q": "tags=nil"}, auth=ADMIN, timeout=10).json()

    assert page.headers["X-Total-Count"] == "4"
    assert len(page.json()) == 1
    assert page.headers["Link"] == (
        "</api/v2.0/projects/lib/repositories/app/artifacts?page=1&page_size=3&with_tag=true>;"
        ' rel="prev"'
    )
    assert len(tagged) == 3 and len(untagged) == 1


def test_private_listings_are_403_for_non_members_and_401_for_anonymous(
    harbor: HarborFake, api: requests.Session, dev: tuple[str, str]
) -> None:
    harbor.add_user("eve", "evepass")
    harbor.create_project("pub", public=True)
    url = f"{harbor.url}{API}/projects/%s/repositories"

    assert api.get(url % "lib", auth=dev, timeout=10).status_code == 200
    assert api.get(url % "lib", auth=("eve", "evepass"), timeout=10).status_code == 403
    assert api.get(url % "lib", timeout=10).status_code == 401
    assert api.get(url % "nope", auth=("eve", "evepass"), timeout=10).status_code == 403
    assert api.get(url % "pub", timeout=10).status_code == 200


# -- deleting (§11.3) -----------------------------------------------------------------------------


def test_tag_delete_removes_only_that_tag(harbor: HarborFake, api: requests.Session) -> None:
    harbor.create_project("lib")
    image = push(harbor, "lib/app", "v1")
    with bearer_session(harbor.url, *ADMIN, "lib/app") as session:
        for tag in ("v1-alias", "latest"):
            session.put(f"{harbor.url}/v2/lib/app/manifests/{tag}", data=image.manifest_bytes,
                        headers={"Content-Type": image.media_type}, timeout=10)
    before = api.get(artifacts_url(harbor, "lib/app"), auth=ADMIN, timeout=10).json()
    tag_url = f"{artifacts_url(harbor, 'lib/app')}/{quote(image.digest, safe='')}/tags"

    deleted = api.delete(f"{tag_url}/v1", auth=ADMIN, timeout=10)
    again = api.delete(f"{tag_url}/v1", auth=ADMIN, timeout=10)
    after = api.get(artifacts_url(harbor, "lib/app"), auth=ADMIN, timeout=10).json()

    assert deleted.status_code == 200
    assert again.status_code == 404
    assert state(harbor, "lib/app") == {"latest": image.digest, "v1-alias": image.digest}
    assert tags_by_digest(after) == {image.digest: ["latest", "v1-alias"]}
    assert after[0]["push_time"] == before[0]["push_time"]


def test_removing_the_last_tag_by_tag_reference_leaves_the_artifact_untagged(
    harbor: HarborFake, api: requests.Session
) -> None:
    harbor.create_project("lib")
    image = push(harbor, "lib/app", "v1")

    resp = api.delete(f"{artifacts_url(harbor, 'lib/app')}/v1/tags/v1", auth=ADMIN, timeout=10)
    listed = api.get(artifacts_url(harbor, "lib/app"), auth=ADMIN, timeout=10).json()

    assert resp.status_code == 200
    assert state(harbor, "lib/app") == {}
    assert tags_by_digest(listed) == {image.digest: []}


def test_developers_may_not_delete_tags(
    harbor: HarborFake, api: requests.Session, dev: tuple[str, str]
) -> None:
    push(harbor, "lib/app", "v1")

    resp = api.delete(f"{artifacts_url(harbor, 'lib/app')}/v1/tags/v1", auth=dev, timeout=10)

    assert resp.status_code == 403
    assert "v1" in state(harbor, "lib/app")


def test_artifact_delete_removes_every_tag_and_untagged_children(
    harbor: HarborFake, api: requests.Session
) -> None:
    harbor.create_project("lib")
    with bearer_session(harbor.url, *ADMIN, "lib/app") as session:
        index = images.push_index(harbor.url, "lib/app", "multi", session=session)
        session.put(f"{harbor.url}/v2/lib/app/manifests/stable", data=index.manifest_bytes,
                    headers={"Content-Type": index.media_type}, timeout=10)
    child_url = f"{artifacts_url(harbor, 'lib/app')}/{quote(index.children[0].digest, safe='')}"

    referenced = api.delete(child_url, auth=ADMIN, timeout=10)
    deleted = api.delete(f"{artifacts_url(harbor, 'lib/app')}/multi", auth=ADMIN, timeout=10)
    again = api.delete(f"{artifacts_url(harbor, 'lib/app')}/multi", auth=ADMIN, timeout=10)

    assert referenced.status_code == 412
    assert deleted.status_code == 200
    assert again.status_code == 404
    assert state(harbor, "lib/app") == {}
    assert api.get(artifacts_url(harbor, "lib/app"), params={"q": "base=*"}, auth=ADMIN,
                   timeout=10).json() == []


# -- webhooks (§11.1) ----------------------------------------------------------------------------


def test_push_webhooks_in_default_format_carry_tag_or_digest(
    harbor: HarborFake, listener: Listener
) -> None:
    project = harbor.create_project("lib")
    harbor.add_webhook("lib", listener.url, auth_header="Bearer hook-secret")

    by_tag = push(harbor, "lib/app", "v1")
    by_digest = push(harbor, "lib/app", None)
    received = listener.wait_for(2)

    payloads = {r.body["event_data"]["resources"][0]["tag"]: r for r in received}
    tagged, untagged = payloads["v1"], payloads[by_digest.digest]
    assert tagged.headers["Content-Type"] == "application/json"
    assert tagged.headers["Authorization"] == "Bearer hook-secret"
    assert tagged.body["type"] == "PUSH_ARTIFACT"
    assert tagged.body["operator"] == "admin"
    assert tagged.body["event_data"]["resources"][0] == {
        "digest": by_tag.digest, "tag": "v1", "resource_url": f"{harbor.host}/lib/app:v1"
    }
    repository = tagged.body["event_data"]["repository"]
    assert repository | {"date_created": 0} == {
        "date_created": 0, "name": "app", "namespace": "lib",
        "repo_full_name": "lib/app", "repo_type": "private",
    }
    assert untagged.body["event_data"]["resources"][0]["resource_url"] == (
        f"{harbor.host}/lib/app@{by_digest.digest}"
    )
    assert project.project_id > 1
    assert all(d.ok and d.attempt == 1 for d in harbor.wait_for_deliveries(2))


def test_delete_webhooks_in_cloudevents_format_name_the_first_tag(
    harbor: HarborFake, listener: Listener, api: requests.Session
) -> None:
    project = harbor.create_project("lib")
    image = push(harbor, "lib/app", "v2")
    with bearer_session(harbor.url, *ADMIN, "lib/app") as session:
        session.put(f"{harbor.url}/v2/lib/app/manifests/v1", data=image.manifest_bytes,
                    headers={"Content-Type": image.media_type}, timeout=10)
    policy = harbor.add_webhook("lib", listener.url, payload_format="CloudEvents",
                                event_types=("DELETE_ARTIFACT",))

    api.delete(f"{artifacts_url(harbor, 'lib/app')}/v2", auth=ADMIN,
               headers={"X-Request-Id": "req-42"}, timeout=10)
    [received] = listener.wait_for(1)

    event = received.body
    assert received.headers["Content-Type"] == "application/cloudevents+json"
    assert event["specversion"] == "1.0"
    assert event["type"] == "harbor.artifact.deleted"
    assert event["source"] == f"/projects/{project.project_id}/webhook/policies/{policy.policy_id}"
    assert event["datacontenttype"] == "application/json"
    assert event["requestid"] == "req-42"
    assert event["operator"] == "admin"
    assert event["time"].endswith("Z")
    assert event["data"]["resources"][0]["tag"] == "v1"
    assert event["data"]["resources"][0]["digest"] == image.digest
    assert len(event["id"]) == 36


def test_v2_delete_by_digest_fires_with_the_digest_when_untagged(
    harbor: HarborFake, listener: Listener, admin_v2: requests.Session
) -> None:
    harbor.add_webhook("lib", listener.url, event_types=("DELETE_ARTIFACT",))
    loose = images.push_image(harbor.url, "lib/app", None, session=admin_v2)

    images.delete_manifest(harbor.url, "lib/app", loose.digest, session=admin_v2)
    [received] = listener.wait_for(1)

    resource = received.body["event_data"]["resources"][0]
    assert received.body["type"] == "DELETE_ARTIFACT"
    assert resource == {
        "digest": loose.digest, "tag": loose.digest,
        "resource_url": f"{harbor.host}/lib/app@{loose.digest}",
    }


def test_v2_delete_of_an_index_takes_its_untagged_children_along(
    harbor: HarborFake, api: requests.Session, admin_v2: requests.Session
) -> None:
    index = images.push_index(harbor.url, "lib/app", "multi", session=admin_v2)

    images.delete_manifest(harbor.url, "lib/app", index.digest, session=admin_v2)
    left = api.get(artifacts_url(harbor, "lib/app"), params={"q": "base=*"}, auth=ADMIN,
                   timeout=10).json()

    assert left == []


def test_tag_deletes_fire_no_webhook(
    harbor: HarborFake, listener: Listener, api: requests.Session
) -> None:
    harbor.create_project("lib")
    push(harbor, "lib/app", "v1")
    harbor.add_webhook("lib", listener.url)

    api.delete(f"{artifacts_url(harbor, 'lib/app')}/v1/tags/v1", auth=ADMIN, timeout=10)
    harbor.notifier.idle()

    assert harbor.deliveries == []


def test_failed_deliveries_are_retried_up_to_three_times_then_dropped(
    harbor: HarborFake, listener: Listener
) -> None:
    harbor.create_project("lib")
    harbor.add_webhook("lib", listener.url)
    listener.statuses = [500, 503, 200]

    push(harbor, "lib/app", "v1")
    attempts = harbor.wait_for_deliveries(3)
    listener.statuses = [500, 500, 500]
    push(harbor, "lib/app", "v2")
    harbor.wait_for_deliveries(6)
    harbor.notifier.idle()

    assert [(d.attempt, d.status) for d in attempts] == [(1, 500), (2, 503), (3, 200)]
    dropped = harbor.deliveries[3:]
    assert [(d.attempt, d.status, d.ok) for d in dropped] == [
        (1, 500, False), (2, 500, False), (3, 500, False)
    ]
    bodies = [r.body for r in listener.received]
    assert bodies[0] == bodies[1] == bodies[2]  # a retry resends the same payload


def test_unreachable_targets_count_as_failures(harbor: HarborFake) -> None:
    harbor.create_project("lib")
    harbor.add_webhook("lib", f"http://127.0.0.1:{free_port()}/hook")

    push(harbor, "lib/app", "v1")
    attempts = harbor.wait_for_deliveries(3)

    assert [(d.status, d.ok) for d in attempts] == [(None, False)] * 3
    assert attempts[0].error


def test_webhook_policies_via_the_api_are_for_project_admins(
    harbor: HarborFake, api: requests.Session, listener: Listener, dev: tuple[str, str]
) -> None:
    harbor.add_user("boss", "bosspass")
    harbor.add_member("lib", "boss", "projectAdmin")
    robot = harbor.add_robot("lib", "ci", "s3cret", [("repository", "push")])
    url = f"{harbor.url}{API}/projects/lib/webhook/policies"
    policy = {
        "name": "crossdock", "enabled": True, "event_types": ["PUSH_ARTIFACT"],
        "targets": [{"type": "http", "address": listener.url, "auth_header": "Bearer x",
                     "skip_cert_verify": True, "payload_format": "CloudEvents"}],
    }

    as_dev = api.post(url, json=policy, auth=dev, timeout=10)
    bad = api.post(url, json={**policy, "event_types": ["NOPE"]}, auth=("boss", "bosspass"),
                   timeout=10)
    created = api.post(url, json=policy, auth=("boss", "bosspass"), timeout=10)
    listed = api.get(url, auth=("boss", "bosspass"), timeout=10).json()
    push(harbor, "lib/app", "v1", auth=(robot, "s3cret"))
    [received] = listener.wait_for(1)

    assert as_dev.status_code == 403
    assert bad.status_code == 400
    assert created.status_code == 201
    assert created.headers["Location"].startswith("/api/v2.0/projects/")
    assert [p["name"] for p in listed] == ["crossdock"]
    assert listed[0]["targets"][0]["payload_format"] == "CloudEvents"
    assert received.body["type"] == "harbor.artifact.pushed"
    assert received.body["operator"] == robot
