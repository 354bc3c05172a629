"""``/api/v1/jobs`` and ``/api/v1/executions`` page by key: ``before=<id>`` and each
answer's ``next_before``."""

from __future__ import annotations

from typing import Any

import pytest

from shared.store import JobStatus, NewJob, Store
from tests.receiver.api.conftest import Api


@pytest.fixture
def rule_id(api: Api) -> int:
    api.source()
    api.endpoint()
    rule: dict[str, Any] = api.rule(enabled=False)
    return int(rule["id"])


def record_jobs(store: Store, rule_id: int, count: int, execution_id: int | None = None
                ) -> list[int]:
    rule = store.get_rule(rule_id)
    return [job.id for job in store.create_jobs([
        NewJob(rule_id=rule.id, endpoint_id=rule.endpoint_id, source_id=rule.source_id,
               repository="lib/app", tag=f"v{i}", action="replicate",
               execution_id=execution_id) for i in range(count)])]


def pages(api: Api, path: str) -> list[list[int]]:
    """Every page of `path`, following ``next_before``."""
    found: list[list[int]] = []
    cursor = ""
    while True:
        answer = api.ok("GET", path + cursor)
        found.append([item["id"] for item in answer["items"]])
        if answer["next_before"] is None:
            return found
        cursor = f"&before={answer['next_before']}"


def test_jobs_page_by_key_to_the_last_page(api: Api, store: Store, rule_id: int) -> None:
    made = record_jobs(store, rule_id, 5)[::-1]

    assert pages(api, "/jobs?limit=2") == [made[0:2], made[2:4], made[4:5]]
    assert pages(api, "/jobs?limit=5") == [made]  # a full last page has no next one
    first = api.ok("GET", "/jobs?limit=2")
    assert (first["limit"], first["offset"], first["next_before"]) == (2, 0, made[1])
    # The offset still works, and still says where the next page starts.
    assert api.ok("GET", "/jobs?limit=2&offset=2")["next_before"] == made[3]


def test_an_executions_jobs_of_one_status_page_by_key(api: Api, store: Store,
                                                      rule_id: int) -> None:
    execution = store.create_execution(rule_id, "manual")
    made = record_jobs(store, rule_id, 6, execution.id)
    for job_id in made[::2]:
        store.mark_finished(job_id, JobStatus.FAILED, "boom")
    failed = made[::2][::-1]

    assert pages(api, f"/jobs?execution={execution.id}&status=failed&limit=2") == [
        failed[0:2], failed[2:3]]


def test_executions_page_by_key(api: Api, store: Store, rule_id: int) -> None:
    made = [store.create_execution(rule_id, "manual").id for _ in range(3)][::-1]

    assert pages(api, "/executions?limit=2") == [made[0:2], made[2:3]]


@pytest.mark.parametrize("query", ["before=0", "before=abc", f"before={2**63}", "before="])
def test_a_bad_cursor_is_a_400(api: Api, rule_id: int, query: str) -> None:
    for path in ("/jobs", "/executions"):
        response = api.get(f"{path}?{query}")
        assert response.status_code == 400, response.get_json()
        assert "before" in response.get_json()["error"]["fields"]
