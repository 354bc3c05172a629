"""``/api/v1/links``: "source S is the same registry as endpoint E", by name."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from shared.store import Store
from tests.receiver.api.conftest import Api


@pytest.fixture
def registries(api: Api) -> Api:
    """Source `a` and endpoint `a-ep`: one registry spelled two ways; `b`/`b-ep` too."""
    api.source("a", "http://localhost:5231")
    api.endpoint("a-ep", "http://127.0.0.1:5231")
    api.source("b", "http://localhost:5232")
    api.endpoint("b-ep", "http://127.0.0.1:5232")
    return api


def test_a_link_is_created_shown_listed_changed_and_deleted(
    registries: Api, store: Store
) -> None:
    created = registries.ok("POST", "/links", {"source": "a", "endpoint": "a-ep"}, 201)

    link_id = created["id"]
    assert {k: created[k] for k in ("source", "endpoint", "harbor_account")} == {
        "source": "a", "endpoint": "a-ep", "harbor_account": None}
    assert "warnings" not in created
    stored = store.get_link(link_id)
    assert (stored.source_id, stored.endpoint_id) == (
        store.get_source_by_name("a").id, store.get_endpoint_by_name("a-ep").id)
    assert registries.ok("GET", f"/links/{link_id}") == created
    assert registries.ok("GET", "/links")["items"] == [created]

    changed = registries.ok("PATCH", f"/links/{link_id}", {"harbor_account": "robot$crossdock"})
    cleared = registries.ok("PATCH", f"/links/{link_id}", {"harbor_account": None})

    assert changed["harbor_account"] == "robot$crossdock"
    assert cleared["harbor_account"] is None and store.get_link(link_id).harbor_account is None
    assert registries.delete(f"/links/{link_id}").status_code == 204
    assert registries.get(f"/links/{link_id}").status_code == 404
    assert registries.delete(f"/links/{link_id}").status_code == 404
    assert store.list_links() == []


def test_a_source_or_an_endpoint_has_one_link(registries: Api) -> None:
    registries.ok("POST", "/links", {"source": "a", "endpoint": "a-ep"}, 201)

    same_source = registries.post("/links", {"source": "a", "endpoint": "b-ep"})
    same_endpoint = registries.post("/links", {"source": "b", "endpoint": "a-ep"})

    assert same_source.status_code == same_endpoint.status_code == 409
    assert "already linked" in same_source.get_json()["error"]["message"]
    assert len(registries.ok("GET", "/links")["items"]) == 1


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"source": "nope", "endpoint": "a-ep"}, "source", "No source named 'nope'."),
    ({"source": "a", "endpoint": "nope"}, "endpoint", "No endpoint named 'nope'."),
    ({"source": "Not A Name", "endpoint": "a-ep"}, "source", "Use 1-63 lower-case"),
    ({"endpoint": "a-ep"}, "source", "Missing data"),
    ({"source": "a", "endpoint": "a-ep", "harbor_account": "two words"}, "harbor_account",
     "without spaces"),
    ({"source": "a", "endpoint": "a-ep", "harbor_account": ""}, "harbor_account",
     "without spaces"),
    ({"source": "a", "endpoint": "a-ep", "id": 3}, "id", "Unknown field"),
])
def test_bad_links_are_field_errors(
    registries: Api, body: dict[str, object], field: str, message: str
) -> None:
    response = registries.post("/links", body)

    assert response.status_code == 400
    assert message in " ".join(response.get_json()["error"]["fields"][field])


def test_a_links_registries_cannot_change(registries: Api) -> None:
    link = registries.ok("POST", "/links", {"source": "a", "endpoint": "a-ep"}, 201)

    moved = registries.patch(f"/links/{link['id']}", {"endpoint": "b-ep"})
    unknown = registries.patch("/links/99", {"harbor_account": "x"})
    unchanged = registries.ok("PATCH", f"/links/{link['id']}", {})

    assert moved.status_code == 400
    assert "cannot change" in moved.get_json()["error"]["fields"]["endpoint"][0]
    assert unknown.status_code == 404
    assert unchanged["endpoint"] == "a-ep"


def test_deleting_the_source_deletes_its_link(registries: Api, store: Store) -> None:
    registries.ok("POST", "/links", {"source": "a", "endpoint": "a-ep"}, 201)

    assert registries.delete("/sources/a").status_code == 204

    assert registries.ok("GET", "/links")["items"] == []


def test_a_link_that_looks_wrong_is_made_with_warnings(registries: Api) -> None:
    registries.source("hb", "https://harbor.example.com", kind="harbor")
    registries.endpoint("hb-ep", "https://harbor.example.com", kind="harbor")

    with capture_logs() as logs:
        harbor = registries.ok("POST", "/links", {"source": "hb", "endpoint": "hb-ep"}, 201)
        crossed = registries.ok("POST", "/links", {"source": "a", "endpoint": "b-ep",
                                                   "harbor_account": "admin"}, 201)
        fixed = registries.ok("PATCH", f"/links/{harbor['id']}",
                              {"harbor_account": "robot$crossdock"})

    [no_account] = harbor["warnings"]
    assert "give harbor_account" in no_account and "'hb'" in no_account
    assert len(crossed["warnings"]) == 2
    assert crossed["warnings"][0] == (
        "source 'a' at http://localhost:5231 and endpoint 'b-ep' at http://127.0.0.1:5232 "
        "do not look like one registry: check that they are (crossdock takes the link's "
        "word for it)")
    assert "harbor_account is only read from Harbor registries" in crossed["warnings"][1]
    assert "warnings" not in fixed
    assert [e["log_level"] for e in logs if e["event"] == "registry link looks wrong"] == [
        "warning"] * 3
