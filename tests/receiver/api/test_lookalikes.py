"""Warnings in the answers that create or change a source, an endpoint or a rule that
looks like one registry, or one two-way sync, without the links that say so."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from shared.store import Store, StoreUnavailableError
from tests.receiver.api.conftest import Api

LINK_IT = ("link them (POST /api/v1/links, or `crossdock links create --source a "
           "--endpoint a-ep`) so that crossdock knows its own writes there and two-way sync "
           "has no echoes")


def test_an_endpoint_that_looks_like_an_unlinked_source_is_warned_about(api: Api) -> None:
    api.source("a", "http://127.0.0.1:5231")

    with capture_logs() as logs:
        endpoint = api.endpoint("a-ep", "http://localhost:5231")

    assert endpoint["warnings"] == [
        "endpoint 'a-ep' at http://localhost:5231 looks like source 'a' at "
        f"http://127.0.0.1:5231, but they are not linked: {LINK_IT}"]
    [line] = [e for e in logs if e["event"] == "registries look alike but are not linked"]
    assert (line["log_level"], line["source"], line["endpoint"]) == ("warning", "a", "a-ep")


def test_a_source_that_looks_like_an_unlinked_endpoint_is_warned_about(api: Api) -> None:
    api.endpoint("a-ep", "http://localhost:5231")

    created = api.source("a", "http://127.0.0.1:5231")

    assert created["warnings"] == [
        "source 'a' at http://127.0.0.1:5231 looks like endpoint 'a-ep' at "
        f"http://localhost:5231, but they are not linked: {LINK_IT}"]


def test_another_port_is_another_registry(api: Api) -> None:
    api.source("a", "http://127.0.0.1:5231")

    endpoint = api.endpoint("a-ep", "http://localhost:5232")
    source = api.source("c", "http://localhost:5233")

    assert "warnings" not in endpoint and "warnings" not in source


def test_linked_registries_are_not_warned_about(api: Api) -> None:
    api.source("a", "http://127.0.0.1:5231")
    api.endpoint("a-ep", "http://localhost:5231")
    api.ok("POST", "/links", {"source": "a", "endpoint": "a-ep"}, 201)

    source = api.ok("PATCH", "/sources/a", {"verify_tls": False})
    endpoint = api.ok("PATCH", "/endpoints/a-ep", {"verify_tls": False})

    assert "warnings" not in source and "warnings" not in endpoint


def test_a_change_of_url_is_warned_about_and_keeps_its_status(api: Api) -> None:
    api.source("a", "http://127.0.0.1:5231")
    api.endpoint("a-ep", "http://localhost:9999")

    response = api.patch("/endpoints/a-ep", {"url": "http://[::1]:5231"})

    assert response.status_code == 200
    assert response.get_json()["warnings"][0].startswith(
        "endpoint 'a-ep' at http://[::1]:5231 looks like source 'a'")


def test_a_registry_linked_elsewhere_is_warned_about_without_asking_for_a_link(
    api: Api
) -> None:
    api.source("a", "http://127.0.0.1:5231")
    api.endpoint("a-ep", "http://localhost:5231")
    api.ok("POST", "/links", {"source": "a", "endpoint": "a-ep"}, 201)

    second = api.endpoint("a-ep2", "http://localhost:5231")

    assert second["warnings"] == [
        "endpoint 'a-ep2' at http://localhost:5231 looks like source 'a' at "
        "http://127.0.0.1:5231, but they are not linked and source 'a' is already linked "
        "elsewhere: check the URLs (a registry has one link)"]


def test_an_endpoint_created_with_a_rule_is_warned_about(api: Api) -> None:
    api.source("a", "http://127.0.0.1:5231")
    api.source("b", "http://127.0.0.1:5232")

    rule = api.rule("b-to-a", source="b", enabled=False,
                    endpoint={"name": "a-ep", "url": "http://localhost:5231"})

    assert rule["warnings"][0].startswith("endpoint 'a-ep' at http://localhost:5231 looks like "
                                          "source 'a'")


def opposite_registries(api: Api) -> None:
    for side, port in (("a", 5231), ("b", 5232)):
        api.source(side, f"http://localhost:{port}")
        api.endpoint(f"{side}-ep", f"http://127.0.0.1:{port}")


def test_opposite_rules_without_links_are_warned_about(api: Api) -> None:
    opposite_registries(api)
    first = api.rule("a-to-b", source="a", endpoint="b-ep", enabled=False)

    with capture_logs() as logs:
        second = api.rule("b-to-a", source="b", endpoint="a-ep", enabled=False)

    assert "warnings" not in first  # no opposite rule yet
    assert second["warnings"] == [
        "rules 'b-to-a' and 'a-to-b' look like the two directions of one two-way sync, but "
        "they are not a pair for lack of links: link source 'b' with endpoint 'b-ep' and "
        "source 'a' with endpoint 'a-ep' (POST /api/v1/links, or `crossdock links create "
        "--source b --endpoint b-ep`) so that they sync both ways as a pair: no echoes, and "
        "conflicts settled by the preferred side"]
    [line] = [e for e in logs if e["event"] == "opposite rules are not a pair for lack of links"]
    assert line["log_level"] == "warning" and line["missing"] == ["b=b-ep", "a=a-ep"]


def test_only_the_missing_link_is_asked_for(api: Api) -> None:
    opposite_registries(api)
    api.ok("POST", "/links", {"source": "a", "endpoint": "a-ep"}, 201)
    api.rule("a-to-b", source="a", endpoint="b-ep", enabled=False)
    api.rule("b-to-a", source="b", endpoint="a-ep", enabled=False)

    changed = api.ok("PATCH", "/rules/a-to-b", {"description": "lib, both ways"})

    [warning] = changed["warnings"]
    assert "link source 'b' with endpoint 'b-ep' (" in warning and "'a-ep'" not in warning


def test_paired_or_unrelated_rules_are_not_warned_about(api: Api) -> None:
    opposite_registries(api)
    for side in ("a", "b"):
        api.ok("POST", "/links", {"source": side, "endpoint": f"{side}-ep"}, 201)
    api.rule("a-to-b", source="a", endpoint="b-ep", enabled=False)

    paired = api.rule("b-to-a", source="b", endpoint="a-ep", enabled=False)
    other_project = api.rule("misc", source="b", endpoint="a-ep", project="misc",
                             enabled=False)
    elsewhere = api.rule("a-to-a", source="a", endpoint="a-ep", enabled=False)

    assert "warnings" not in paired
    assert "warnings" not in other_project
    assert "warnings" not in elsewhere


def test_a_store_failing_during_the_check_leaves_the_answer_as_it_was(
    api: Api, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.endpoint("a-ep", "http://localhost:5231")

    def unavailable() -> None:
        raise StoreUnavailableError("database is locked")

    monkeypatch.setattr(store, "list_links", unavailable)
    with capture_logs() as logs:
        created = api.source("a", "http://127.0.0.1:5231")

    assert "warnings" not in created
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == [
        "look-alike check skipped"]


def test_the_warnings_are_in_the_openapi_document(api: Api) -> None:
    document = api.ok("GET", "/openapi.json")

    for path, method in (("/api/v1/sources", "post"), ("/api/v1/sources/{name}", "patch"),
                         ("/api/v1/endpoints", "post"), ("/api/v1/endpoints/{name}", "patch"),
                         ("/api/v1/rules", "post"), ("/api/v1/rules/{name}", "patch"),
                         ("/api/v1/links", "post"), ("/api/v1/links/{link_id}", "patch")):
        status = "201" if method == "post" else "200"
        ref = document["paths"][path][method]["responses"][status]
        name = ref["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        warnings = document["components"]["schemas"][name]["properties"]["warnings"]
        assert warnings["type"] == "array" and warnings["items"] == {"type": "string"}, path
