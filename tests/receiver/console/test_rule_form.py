"""The rule form's fields as the API's rule shape, and the schema's errors back
onto the form's fields (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from werkzeug.datastructures import MultiDict

from receiver.console.rule_form import (
    form_field,
    on_form_fields,
    ping_data,
    posted_values,
    rule_data,
    rule_values,
    shown_values,
)
from shared.store import FilterDecision, RuleFilter, RuleRecord


def _posted(**fields: str) -> dict[str, object]:
    return posted_values(MultiDict({"csrf_token": "t", **fields}))


def test_an_existing_endpoint_is_given_by_name_and_filters_one_a_line() -> None:
    values = _posted(name="r", endpoint="ep", enabled="on", repo_filters="a/**\r\n\r\n!a/tmp*",
                     dest_namespace="", schedule="")

    data = rule_data(values, "src", "lib")

    assert data["endpoint"] == "ep"
    assert (data["source"], data["project"], data["enabled"]) == ("src", "lib", True)
    assert data["repo_filters"] == [{"pattern": "a/**", "decision": "matches"},
                                    {"pattern": "a/tmp*", "decision": "excludes"}]
    assert data["tag_filters"] == []
    assert (data["dest_namespace"], data["schedule"]) == (None, None)  # blank: none
    assert (data["prune"], data["override"]) == (False, False)  # unticked boxes


def test_a_new_endpoint_is_an_object_of_its_fields() -> None:
    values = _posted(name="r", endpoint="ep", new_endpoint="on", endpoint_name="fresh",
                     endpoint_url="https://x", endpoint_password="p")

    assert rule_data(values, "src", "lib")["endpoint"] == {
        "name": "fresh", "url": "https://x", "password": "p", "verify_tls": False}


def test_test_connection_checks_the_destination_project() -> None:
    stored = _posted(endpoint="ep", dest_namespace="mirror/sub")
    fresh = _posted(new_endpoint="on", endpoint_name="fresh", endpoint_url="https://x",
                    endpoint_verify_tls="on")

    assert ping_data(stored, "lib") == {"name": "ep", "project": "mirror"}
    assert ping_data(fresh, "lib") == {"url": "https://x", "verify_tls": True,
                                       "project": "lib"}


def test_schema_errors_land_on_the_form_fields() -> None:
    assert form_field("endpoint.url") == "endpoint_url"
    assert form_field("repo_filters.1.pattern") == "repo_filters"
    assert form_field("project") == "_form"
    assert form_field("schedule") == "schedule"
    assert on_form_fields({"endpoint.name": ["a"], "endpoint.url": ["b"], "name": ["c"]}) == {
        "endpoint_name": ["a"], "endpoint_url": ["b"], "name": ["c"]}


def test_a_rule_shows_as_the_forms_values_and_a_password_is_never_shown_again() -> None:
    now = datetime.now(UTC)
    rule = RuleRecord(1, "r", "d", True, 1, "lib", 1, (RuleFilter("a"),),
                      (RuleFilter("rc*", FilterDecision.EXCLUDES),), None, True, False, True,
                      "0 3 * * *", False, now, now)

    values = rule_values(rule, "ep")
    shown = shown_values({"endpoint_password": "p", "repo_filters": ["a", "!b"]})

    assert (values["endpoint"], values["tag_filters"], values["dest_namespace"]) == (
        "ep", "!rc*", "")
    assert shown == {"repo_filters": "a\n!b"}
