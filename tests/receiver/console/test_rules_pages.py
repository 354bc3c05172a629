"""A project's Registry Replication tab and the rule form, through Flask's client:
the rules with their last execution, the form's fields as the API's rule (an
existing endpoint or a new one), field errors beside their fields, enable,
disable, run, delete after a confirmation, and the form's fragments (the chosen
endpoint, the schedule's next runs, Test Connection)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient

from shared.store import ExecutionTrigger, FilterDecision, RuleFilter, SourceRecord, Store
from tests.conftest import PASSWORD, USERNAME
from tests.receiver.conftest import Records
from tests.receiver.console.conftest import csrf_from
from tests.support.registry_server import RegistryServer

SCRIPT = "<script>alert('rule')</script>"


def _post(client: FlaskClient, form_path: str, action: str, fields: dict[str, Any],
          **kwargs: Any) -> Any:
    token = csrf_from(client.get(form_path).text)
    return client.post(action, data={"csrf_token": token, **fields}, **kwargs)


def _new_rule(client: FlaskClient, source: SourceRecord, fields: dict[str, Any],
              project: str = "lib", **kwargs: Any) -> Any:
    path = f"/ui/projects/{source.name}/{project}/rules/new"
    return _post(client, path, path, fields, **kwargs)


def _error(html: str, field: str) -> str:
    found = re.search(rf'<small id="error-{field}" class="field-error">([^<]*)</small>', html)
    assert found, f"no error beside {field}"
    return found.group(1)


def test_the_tab_lists_the_projects_rules_with_their_last_execution(
    signed_in_client: FlaskClient, records: Records, store: Store,
) -> None:
    source, endpoint = records.source(), records.endpoint()
    rule = records.rule(source, endpoint, project="lib", description=SCRIPT,
                        repo_filters=[RuleFilter("lib/**"),
                                      RuleFilter("lib/tmp*", FilterDecision.EXCLUDES)])
    records.rule(source, endpoint, project="other")
    execution = store.create_execution(rule.id, ExecutionTrigger.MANUAL)

    html = signed_in_client.get(f"/ui/projects/{source.name}/lib/").text

    assert "Registry Replication" in html and "+ Replication Rule" in html
    assert html.count('<tr id="rule-') == 1  # the other project's rule is not here
    row = html[html.index(f'<tr id="rule-{rule.id}"'):]
    row = row[:row.index("</tr>")]
    assert endpoint.name in row and "repository lib/**" in row and "repository not lib/tmp*" in row
    assert f"status-{execution.status}" in row and "0 of 0 succeeded" in row
    assert "&lt;script&gt;alert(&#39;rule&#39;)&lt;/script&gt;" in row
    assert SCRIPT not in html
    for action in ("edit", "enabled", "run", "delete"):
        assert f"/rules/{rule.name}/{action}" in row


def test_the_form_starts_with_the_only_endpoint_chosen_and_its_url_and_username(
    signed_in_client: FlaskClient, records: Records,
) -> None:
    source = records.source()
    endpoint = records.endpoint("https://registry.example:5000", username="robot",
                                password="hunter2")

    html = signed_in_client.get(f"/ui/projects/{source.name}/lib/rules/new").text

    assert f'<option value="{endpoint.name}" selected>' in html
    assert 'value="https://registry.example:5000" aria-label="Endpoint URL (read-only)"' in html
    assert 'value="robot" aria-label="Endpoint username (read-only)"' in html
    assert "hunter2" not in html
    assert re.search(r'<details class="advanced">', html)  # folded


def test_ok_saves_a_rule_with_an_existing_endpoint_and_its_advanced_fields(
    signed_in_client: FlaskClient, records: Records, store: Store,
) -> None:
    source, endpoint = records.source(), records.endpoint()

    answer = _new_rule(signed_in_client, source, {
        "name": "lib-copy", "description": "nightly", "endpoint": endpoint.name,
        "repo_filters": "lib/**\r\n!lib/tmp*", "tag_filters": "v*", "dest_namespace": "mirror",
        "schedule": "0 3 * * *", "override": "on", "prune": "on"})

    assert answer.status_code == 303
    assert answer.location == f"/ui/projects/{source.name}/lib/"  # not enabled: no sync
    rule = store.get_rule_by_name("lib-copy")
    assert (rule.enabled, rule.endpoint_id, rule.project, rule.description) == (
        False, endpoint.id, "lib", "nightly")
    assert rule.repo_filters == (RuleFilter("lib/**"),
                                 RuleFilter("lib/tmp*", FilterDecision.EXCLUDES))
    assert rule.tag_filters == (RuleFilter("v*"),)
    assert (rule.dest_namespace, rule.schedule) == ("mirror", "0 3 * * *")
    assert (rule.override, rule.prune, rule.replicate_deletes, rule.copy_referrers) == (
        True, True, False, False)
    assert not store.list_executions(rule_id=rule.id)


def test_ok_with_enable_starts_the_initial_sync_and_goes_to_the_rules_jobs(
    signed_in_client: FlaskClient, records: Records, store: Store,
) -> None:
    source, endpoint = records.source(), records.endpoint()

    answer = _new_rule(signed_in_client, source, {
        "name": "lib-now", "endpoint": endpoint.name, "enabled": "on"})

    assert answer.status_code == 303
    assert answer.location == "/ui/jobs/?rule=lib-now"
    rule = store.get_rule_by_name("lib-now")
    [execution] = store.list_executions(rule_id=rule.id)
    assert execution.trigger == ExecutionTrigger.INITIAL


def test_a_new_endpoint_is_created_with_the_rule(
    signed_in_client: FlaskClient, records: Records, store: Store,
) -> None:
    source = records.source()

    answer = _new_rule(signed_in_client, source, {
        "name": "lib-new", "new_endpoint": "on", "endpoint": "", "endpoint_name": "fresh",
        "endpoint_url": "https://fresh.example:5000", "endpoint_username": USERNAME,
        "endpoint_password": PASSWORD})

    assert answer.status_code == 303
    endpoint = store.get_endpoint_by_name("fresh")
    assert (endpoint.url, endpoint.username, endpoint.verify_tls) == (
        "https://fresh.example:5000", USERNAME, False)  # Verify Remote Cert left unticked
    assert store.endpoint_credentials(endpoint.id).password == PASSWORD
    assert store.get_rule_by_name("lib-new").endpoint_id == endpoint.id


def test_field_errors_show_beside_their_fields_and_keep_what_was_typed(
    signed_in_client: FlaskClient, records: Records, store: Store,
) -> None:
    source = records.source()

    answer = _new_rule(signed_in_client, source, {
        "name": "Not A Name", "description": SCRIPT, "new_endpoint": "on",
        "endpoint_name": "fresh", "endpoint_url": "ftp://nowhere", "endpoint_password": "typed",
        "repo_filters": "lib/{a,b", "schedule": "61 * * * *"})

    assert answer.status_code == 400
    html = answer.text
    assert "The form was not saved" in html
    for field in ("name", "endpoint_url", "repo_filters", "schedule"):
        assert _error(html, field)
    assert 'id="field-name" name="name" type="text" value="Not A Name"' in html
    assert "&lt;script&gt;" in html and SCRIPT not in html
    assert "typed" not in html  # never the password
    assert '<details class="advanced" open>' in html  # its errors are not hidden
    assert not store.list_rules() and not store.list_endpoints()


def test_a_rule_name_taken_is_an_error_beside_the_name(
    signed_in_client: FlaskClient, records: Records,
) -> None:
    source, endpoint = records.source(), records.endpoint()
    taken = records.rule(source, endpoint)

    answer = _new_rule(signed_in_client, source, {"name": taken.name,
                                                  "endpoint": endpoint.name})

    assert answer.status_code == 409
    assert "already exists" in _error(answer.text, "name")


def test_a_new_endpoint_name_taken_is_an_error_beside_it_and_no_rule_is_made(
    signed_in_client: FlaskClient, records: Records, store: Store,
) -> None:
    source, endpoint = records.source(), records.endpoint()

    answer = _new_rule(signed_in_client, source, {
        "name": "endpoint-rule", "new_endpoint": "on", "endpoint_name": endpoint.name,
        "endpoint_url": "https://other.example"})

    assert answer.status_code == 409
    assert "already exists" in _error(answer.text, "endpoint_name")
    assert 'id="error-name"' not in answer.text
    assert not store.list_rules()


def test_edit_shows_the_rule_and_saves_its_changes(
    signed_in_client: FlaskClient, records: Records, store: Store,
) -> None:
    source, endpoint = records.source(), records.endpoint()
    rule = records.rule(source, endpoint, tag_filters=[RuleFilter("rc*",
                                                                  FilterDecision.EXCLUDES)],
                        schedule="0 3 * * *")
    path = f"/ui/projects/{source.name}/lib/rules/{rule.name}/edit"

    html = signed_in_client.get(path).text
    answer = _post(signed_in_client, path, path, {
        "name": rule.name, "description": "changed", "endpoint": endpoint.name,
        "tag_filters": "!rc*", "schedule": ""})

    assert ">!rc*</textarea>" in html and 'value="0 3 * * *"' in html
    assert answer.status_code == 303
    changed = store.get_rule(rule.id)
    assert (changed.description, changed.schedule) == ("changed", None)
    assert changed.tag_filters == rule.tag_filters


def test_disable_enable_and_run_now(
    signed_in_client: FlaskClient, records: Records, store: Store,
) -> None:
    source, endpoint = records.source(), records.endpoint()
    rule = records.rule(source, endpoint)
    page = f"/ui/projects/{source.name}/lib/"
    base = f"/ui/projects/{source.name}/lib/rules/{rule.name}"

    disabled = _post(signed_in_client, page, f"{base}/enabled", {"enabled": "no"})
    refused = _post(signed_in_client, page, f"{base}/run", {})
    enabled = _post(signed_in_client, page, f"{base}/enabled", {"enabled": "yes"})
    ran = _post(signed_in_client, page, f"{base}/run", {})

    assert (disabled.status_code, disabled.location) == (303, page)
    assert refused.status_code == 409 and "is disabled" in refused.text
    assert (enabled.status_code, enabled.location) == (303, f"/ui/jobs/?rule={rule.name}")
    assert (ran.status_code, ran.location) == (303, f"/ui/jobs/?rule={rule.name}")
    triggers = sorted(e.trigger for e in store.list_executions(rule_id=rule.id))
    assert triggers == [ExecutionTrigger.INITIAL, ExecutionTrigger.MANUAL]


def test_delete_asks_first_on_a_page_of_its_own(
    signed_in_client: FlaskClient, records: Records, store: Store,
) -> None:
    source, endpoint = records.source(), records.endpoint()
    rule = records.rule(source, endpoint)
    path = f"/ui/projects/{source.name}/lib/rules/{rule.name}/delete"

    confirm = signed_in_client.get(path)
    forged = signed_in_client.post(path, data={})
    assert store.get_rule(rule.id)  # neither asking nor a CSRF-less post deleted it
    answer = _post(signed_in_client, path, path, {})

    assert confirm.status_code == 200 and f"Delete rule {rule.name}?" in confirm.text
    assert forged.status_code == 403
    assert (answer.status_code, answer.location) == (303, f"/ui/projects/{source.name}/lib/")
    assert not store.list_rules()


def test_a_rule_of_another_project_is_not_found_here(
    signed_in_client: FlaskClient, records: Records,
) -> None:
    source, endpoint = records.source(), records.endpoint()
    rule = records.rule(source, endpoint, project="lib")

    answer = signed_in_client.get(f"/ui/projects/{source.name}/other/rules/{rule.name}/edit")
    own = signed_in_client.get(f"/ui/projects/{source.name}/lib/rules/{rule.name}/edit")

    assert answer.status_code == 404
    assert own.status_code == 200


def test_the_schedule_fragment_shows_the_next_three_runs_in_utc(
    signed_in_client: FlaskClient, records: Records,
) -> None:
    source = records.source()
    path = f"/ui/projects/{source.name}/lib/rules/schedule"

    good = signed_in_client.get(path, query_string={"schedule": "30 2 * * *"},
                                headers={"HX-Request": "true"}).text
    bad = signed_in_client.get(path, query_string={"schedule": "nope"},
                               headers={"HX-Request": "true"}).text

    assert "Next runs (UTC)" in good and good.count("<time") == 3
    assert good.count(" 02:30</time>") == 3
    assert 'class="field-error"' in bad and "<time" not in bad


def test_the_endpoint_fragment_shows_url_and_username_never_the_password(
    signed_in_client: FlaskClient, records: Records,
) -> None:
    source = records.source()
    endpoint = records.endpoint(username="robot", password="hunter2")

    html = signed_in_client.get(f"/ui/projects/{source.name}/lib/rules/endpoint",
                                query_string={"endpoint": endpoint.name},
                                headers={"HX-Request": "true"}).text

    assert endpoint.url in html and 'value="robot"' in html and "hunter2" not in html


def test_test_connection_checks_the_forms_endpoint_in_the_rules_project(
    signed_in_client: FlaskClient, records: Records,
    registry_factory: Callable[..., RegistryServer],
) -> None:
    source = records.source()
    registry = registry_factory()
    endpoint = records.endpoint(registry.url)
    form_path = f"/ui/projects/{source.name}/lib/rules/new"
    ping = f"/ui/projects/{source.name}/lib/rules/ping"

    stored = _post(signed_in_client, form_path, ping, {"endpoint": endpoint.name},
                   headers={"HX-Request": "true"}).text
    fresh = _post(signed_in_client, form_path, ping, {
        "new_endpoint": "on", "endpoint_url": registry.url, "dest_namespace": "mirror/sub"},
        headers={"HX-Request": "true"}).text
    invalid = _post(signed_in_client, form_path, ping, {"new_endpoint": "on"},
                    headers={"HX-Request": "true"}).text

    assert "<html" not in stored
    assert 'data-ok="yes"' in stored and '<th scope="row">push</th>' in stored
    assert 'data-ok="yes"' in fresh
    assert "mirror" in fresh  # the push check ran where the rule writes
    assert "The connection was not tested" in invalid and "url" in invalid


def test_the_rule_pages_are_part_of_projects_in_the_navigation(
    signed_in_client: FlaskClient, records: Records,
) -> None:
    source = records.source()

    html = signed_in_client.get(f"/ui/projects/{source.name}/lib/rules/new").text

    assert '<a href="/ui/projects/" aria-current="page">Projects</a>' in html
