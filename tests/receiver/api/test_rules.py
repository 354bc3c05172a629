"""``/api/v1/rules``: CRUD, inline endpoints, and the executions enabling and running start."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from receiver.app import create_app
from shared.broker import Publisher
from shared.messages import JobAction, decode
from shared.queues import work_queue
from shared.settings import Settings
from shared.store import ConflictError, ExecutionTrigger, JobStatus, Store
from tests.receiver.api.conftest import Api, queue_messages

FILTERS = [{"pattern": "lib/{app,web}*"}, {"pattern": "**/test-*", "decision": "excludes"}]


@pytest.fixture
def configured(api: Api) -> Api:
    api.source()
    api.endpoint()
    return api


def sync_messages(settings: Settings, endpoint: str = "mirror") -> list[Any]:
    return [decode(body) for _h, body, _m in queue_messages(
        work_queue(settings.queue_prefix, endpoint))]


def test_a_disabled_rule_is_created_with_defaults_and_starts_nothing(
    configured: Api, store: Store, settings: Settings
) -> None:
    rule = configured.rule(enabled=False)

    assert rule["enabled"] is False and "execution_id" not in rule
    assert (rule["source"], rule["endpoint"], rule["project"]) == ("origin", "mirror", "lib")
    assert (rule["replicate_deletes"], rule["override"], rule["copy_referrers"],
            rule["prune"]) == (True, True, True, False)
    assert (rule["dest_namespace"], rule["schedule"], rule["description"]) == (None, None, "")
    assert rule["repo_filters"] == [] and rule["tag_filters"] == []
    assert store.list_executions() == []
    assert configured.ok("GET", "/rules")["items"] == [rule]
    assert configured.ok("GET", "/rules/lib-to-mirror") == rule


def test_creating_an_enabled_rule_queues_an_initial_sync_of_the_project(
    configured: Api, store: Store, settings: Settings
) -> None:
    rule = configured.rule(repo_filters=FILTERS, tag_filters=[{"pattern": "v*"}],
                           dest_namespace="mirror/lib", schedule="0 3 * * *",
                           description="nightly resync")

    assert rule["repo_filters"] == [{"pattern": "lib/{app,web}*", "decision": "matches"},
                                    FILTERS[1]]
    assert (rule["dest_namespace"], rule["schedule"]) == ("mirror/lib", "0 3 * * *")
    execution = store.get_execution(rule["execution_id"])
    assert execution.trigger is ExecutionTrigger.INITIAL and execution.rule_id == rule["id"]
    [job] = store.list_jobs(execution_id=execution.id)
    assert (job.action, job.repository, job.status) == ("sync", "lib", JobStatus.PENDING)
    [message] = sync_messages(settings)
    assert (message.job_id, message.action, message.repository, message.execution_id,
            message.endpoint) == (job.id, JobAction.SYNC, "lib", execution.id, "mirror")


def test_enabling_a_disabled_rule_starts_an_initial_sync_once(
    configured: Api, store: Store, settings: Settings
) -> None:
    configured.rule(enabled=False)

    enabled = configured.ok("POST", "/rules/lib-to-mirror/enable")
    again = configured.ok("POST", "/rules/lib-to-mirror/enable", {})

    assert enabled["enabled"] is True and "execution_id" not in again
    execution = store.get_execution(enabled["execution_id"])
    assert execution.trigger is ExecutionTrigger.INITIAL
    assert [m.execution_id for m in sync_messages(settings)] == [execution.id]


def test_enabling_through_patch_also_starts_an_initial_sync(
    configured: Api, store: Store, settings: Settings
) -> None:
    configured.rule(enabled=False)

    changed = configured.ok("PATCH", "/rules/lib-to-mirror", {"enabled": True})
    unchanged = configured.ok("PATCH", "/rules/lib-to-mirror", {"description": "x"})

    assert store.get_execution(changed["execution_id"]).trigger is ExecutionTrigger.INITIAL
    assert "execution_id" not in unchanged
    assert len(sync_messages(settings)) == 1


def test_disable_and_run(configured: Api, store: Store, settings: Settings) -> None:
    configured.rule()
    sync_messages(settings)  # the initial sync

    disabled = configured.ok("POST", "/rules/lib-to-mirror/disable")
    refused = configured.post("/rules/lib-to-mirror/run")
    configured.ok("POST", "/rules/lib-to-mirror/enable")
    sync_messages(settings)
    ran = configured.ok("POST", "/rules/lib-to-mirror/run")

    assert disabled["enabled"] is False
    assert refused.status_code == 409 and "disabled" in refused.get_json()["error"]["message"]
    execution = store.get_execution(ran["execution_id"])
    assert execution.trigger is ExecutionTrigger.MANUAL
    [message] = sync_messages(settings)
    assert message.execution_id == execution.id and message.action is JobAction.SYNC
    assert len(store.list_executions()) == 3


def test_run_enable_and_disable_take_no_fields(configured: Api) -> None:
    configured.rule(enabled=False)
    for action in ("enable", "disable", "run"):
        response = configured.post(f"/rules/lib-to-mirror/{action}", {"force": True})
        assert response.status_code == 400 and "force" in response.get_json()["error"]["fields"]


def test_a_rule_is_changed_and_deleted_with_its_jobs(configured: Api, store: Store) -> None:
    rule = configured.rule()
    configured.endpoint("other")

    changed = configured.ok("PATCH", "/rules/lib-to-mirror", {
        "name": "renamed", "endpoint": "other", "tag_filters": [{"pattern": "v{1,2}.*"}],
        "schedule": None, "dest_namespace": "copies", "prune": True})

    assert (changed["name"], changed["endpoint"], changed["prune"]) == ("renamed", "other", True)
    assert changed["id"] == rule["id"] and changed["dest_namespace"] == "copies"
    assert configured.get("/rules/lib-to-mirror").status_code == 404
    assert configured.delete("/rules/renamed").status_code == 204
    assert configured.get("/rules/renamed").status_code == 404
    assert store.list_jobs() == [] and store.list_executions() == []
    assert configured.delete("/rules/renamed").status_code == 404


def test_a_rule_stored_with_a_filter_past_the_brace_cap_keeps_it_until_it_changes(
    configured: Api, store: Store
) -> None:
    past_cap = "v{0,1}" * 7  # 128 alternatives: saved before the cap existed
    source, endpoint = store.get_source_by_name("origin"), store.list_endpoints()[0]
    store.create_rule(name="old", source_id=source.id, endpoint_id=endpoint.id,
                      project="lib", enabled=False, tag_filters=[{"pattern": past_cap}])

    renamed = configured.ok("PATCH", "/rules/old", {"description": "kept as it was"})
    refused = configured.patch("/rules/old", {"tag_filters": [{"pattern": past_cap}]})

    assert renamed["tag_filters"] == [{"pattern": past_cap, "decision": "matches"}]
    assert refused.status_code == 400
    [message] = refused.get_json()["error"]["fields"]["tag_filters"]["0"]["pattern"]
    assert "128 alternatives, more than 64" in message


def test_an_inline_endpoint_is_created_with_the_rule(configured: Api, store: Store) -> None:
    rule = configured.rule(enabled=False, endpoint={
        "name": "fresh", "url": "https://fresh.example.com", "kind": "harbor",
        "username": "robot", "password": "inline-pa55word"})

    assert rule["endpoint"] == "fresh"
    endpoint = configured.ok("GET", "/endpoints/fresh")
    assert (endpoint["kind"], endpoint["has_password"]) == ("harbor", True)
    assert store.endpoint_credentials(endpoint["id"]).password == "inline-pa55word"


def test_a_rule_that_cannot_be_created_leaves_no_inline_endpoint(
    configured: Api, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    inline = {"name": "orphan", "url": "http://orphan.example.com"}
    configured.rule(enabled=False)

    taken = configured.post("/rules", {"name": "lib-to-mirror", "source": "origin",
                                       "project": "lib", "endpoint": inline})
    no_source = configured.post("/rules", {"name": "r2", "source": "nope", "project": "lib",
                                           "endpoint": inline})
    bad_inline = configured.post("/rules", {"name": "r3", "source": "origin",
                                            "project": "lib", "endpoint": {"name": "x"}})

    def refuse(**_fields: Any) -> None:
        raise ConflictError("a rule named 'r4' already exists")

    monkeypatch.setattr(store, "create_rule", refuse)
    raced = configured.post("/rules", {"name": "r4", "source": "origin", "project": "lib",
                                       "endpoint": inline})

    assert taken.status_code == 409
    assert no_source.status_code == 400 and "source" in no_source.get_json()["error"]["fields"]
    assert bad_inline.status_code == 400
    assert bad_inline.get_json()["error"]["fields"]["endpoint"] == {
        "url": ["Missing data for required field."]}
    assert raced.status_code == 409
    assert [e.name for e in store.list_endpoints()] == ["mirror"]


@pytest.mark.parametrize(("fields", "bad"), [
    ({"endpoint": "nope"}, "endpoint"),
    ({"endpoint": "Not A Name"}, "endpoint"),
    ({"endpoint": 3}, "endpoint"),
    ({"project": "lib/app"}, "project"),
    ({"project": "Lib"}, "project"),
    ({"project": "lib\n"}, "project"),
    ({"dest_namespace": "a/b\n"}, "dest_namespace"),
    ({"dest_namespace": "/x"}, "dest_namespace"),
    ({"repo_filters": [{"pattern": "{a,b"}]}, "repo_filters"),
    ({"repo_filters": [{"pattern": "a", "decision": "maybe"}]}, "repo_filters"),
    ({"tag_filters": [{"pattern": "v{0,1}" * 7}]}, "tag_filters"),  # 128 alternatives
    ({"tag_filters": [{"pattern": ""}]}, "tag_filters"),
    ({"tag_filters": "v*"}, "tag_filters"),
    ({"schedule": "every day"}, "schedule"),
    ({"schedule": "61 * * * *"}, "schedule"),
    ({"schedule": "0 0 31 2 *"}, "schedule"),
    ({"enabled": "sometimes"}, "enabled"),
    ({"description": "x" * 2001}, "description"),
    ({"replicate_delete": False}, "replicate_delete"),
])
def test_rule_fields_are_validated(configured: Api, fields: dict[str, Any], bad: str) -> None:
    body = {"name": "r", "source": "origin", "project": "lib", "endpoint": "mirror", **fields}
    response = configured.post("/rules", body)
    assert response.status_code == 400, response.get_json()
    assert bad in response.get_json()["error"]["fields"]


def test_a_broker_that_is_down_fails_the_sync_job_and_says_so(
    settings: Settings, store: Store
) -> None:
    dead = settings.replace(amqp_url="amqp://guest:guest@127.0.0.1:1/%2F")
    publisher = Publisher(dead, attempts=1)
    api = Api(FlaskClient(create_app(dead, store=store, publisher=publisher)))
    api.source()
    api.endpoint()

    created = api.ok("POST", "/rules", {"name": "r", "source": "origin", "project": "lib",
                                        "endpoint": "mirror"}, 201)
    ran = api.post("/rules/r/run")

    assert "could not be queued" in created["warning"]
    [job] = store.list_jobs(execution_id=created["execution_id"])
    assert job.status is JobStatus.FAILED and "could not queue" in (job.error or "")
    assert ran.status_code == 503 and ran.headers["Retry-After"]
    body = ran.get_json()["error"]
    assert body["code"] == "unavailable" and body["execution_id"] > created["execution_id"]
    publisher.close()
