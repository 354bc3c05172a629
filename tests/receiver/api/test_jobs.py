"""``/api/v1/executions`` and ``/api/v1/jobs``: lists and filters, one record, the log,
and retrying a failed job."""

from __future__ import annotations

import pytest

from receiver.services import turns
from shared.broker import ATTEMPT_HEADER, ERROR_HEADER, REASON_HEADER, ROUND_START_HEADER
from shared.dispatch import job_message
from shared.messages import decode, encode
from shared.queues import failed_queue, work_queue
from shared.settings import Settings
from shared.store import JobRecord, JobStatus, NewJob, Store, failed_queue_lease_key
from tests.receiver.api.conftest import Api, RecordingPublisher, queue_messages


@pytest.fixture
def two_rules(api: Api, store: Store) -> tuple[int, int]:
    """Rules "lib-to-mirror" (lib -> mirror) and "team-to-backup" (team -> backup)."""
    api.source()
    api.endpoint()
    api.endpoint("backup")
    first = api.rule(enabled=False)["id"]
    second = api.rule("team-to-backup", endpoint="backup", project="team", enabled=False)["id"]
    return first, second


def record(store: Store, rule_id: int, tags: list[str],
           execution_id: int | None = None) -> list[JobRecord]:
    rule = store.get_rule(rule_id)
    return store.create_jobs([
        NewJob(rule_id=rule.id, endpoint_id=rule.endpoint_id, source_id=rule.source_id,
               repository=f"{rule.project}/app", tag=tag, action="replicate",
               execution_id=execution_id) for tag in tags
    ])


def ids(answer: dict[str, list[dict[str, int]]]) -> list[int]:
    return [item["id"] for item in answer["items"]]


def test_jobs_are_listed_newest_first_and_filtered(
    api: Api, store: Store, two_rules: tuple[int, int]
) -> None:
    first, second = two_rules
    execution = store.create_execution(first, "manual")
    a1, a2 = record(store, first, ["v1", "v2"], execution.id)
    [b1] = record(store, second, ["v1"])
    store.mark_finished(a2.id, JobStatus.FAILED, "boom")

    assert ids(api.ok("GET", "/jobs")) == [b1.id, a2.id, a1.id]
    assert ids(api.ok("GET", "/jobs?rule=lib-to-mirror")) == [a2.id, a1.id]
    assert ids(api.ok("GET", f"/jobs?rule={second}")) == [b1.id]
    assert ids(api.ok("GET", "/jobs?endpoint=backup")) == [b1.id]
    assert ids(api.ok("GET", f"/jobs?endpoint={store.get_endpoint_by_name('mirror').id}")) == [
        a2.id, a1.id]
    assert ids(api.ok("GET", "/jobs?status=failed")) == [a2.id]
    assert ids(api.ok("GET", f"/jobs?execution={execution.id}")) == [a2.id, a1.id]
    assert ids(api.ok("GET", "/jobs?limit=1&offset=1")) == [a2.id]
    shown = api.ok("GET", f"/jobs/{a2.id}")
    assert (shown["rule"], shown["endpoint"], shown["status"], shown["error"]) == (
        "lib-to-mirror", "mirror", "failed", "boom")
    assert (shown["repository"], shown["tag"], shown["action"]) == ("lib/app", "v2", "replicate")


@pytest.mark.parametrize("query", [
    "rule=nope", "endpoint=nope", "status=lost", "limit=0", "limit=100000", "offset=-1",
    "execution=abc", "execution=99999999999999999999999", "statsu=failed",
])
def test_bad_job_filters_are_a_400(api: Api, two_rules: tuple[int, int], query: str) -> None:
    response = api.get(f"/jobs?{query}")
    assert response.status_code == 400, response.get_json()


def test_unknown_jobs_and_executions_are_a_404(api: Api) -> None:
    for path in ("/jobs/7", "/jobs/7/log", "/executions/7", f"/jobs/{2**63}",
                 "/jobs/abc", "/executions/-1"):
        assert api.get(path).status_code == 404, path
    assert api.post("/jobs/7/retry").status_code == 404


def test_executions_are_listed_and_shown_with_counts(
    api: Api, store: Store, two_rules: tuple[int, int]
) -> None:
    first, second = two_rules
    older = store.create_execution(first, "initial")
    newer = store.create_execution(second, "manual")
    done, failed, _waiting = record(store, first, ["v1", "v2", "v3"], older.id)
    store.mark_finished(done.id, JobStatus.SUCCEEDED)
    store.mark_finished(failed.id, JobStatus.FAILED, "boom")

    assert ids(api.ok("GET", "/executions")) == [newer.id, older.id]
    assert ids(api.ok("GET", "/executions?rule=lib-to-mirror")) == [older.id]
    assert ids(api.ok("GET", f"/executions?rule={second}&status=pending")) == [newer.id]
    assert ids(api.ok("GET", "/executions?limit=1")) == [newer.id]
    shown = api.ok("GET", f"/executions/{older.id}")
    assert (shown["rule"], shown["trigger"], shown["status"]) == (
        "lib-to-mirror", "initial", "running")
    assert (shown["total"], shown["succeeded"], shown["failed"], shown["skipped"],
            shown["in_progress"]) == (3, 1, 1, 0, 1)
    assert api.get("/executions?rule=nope").status_code == 400


def test_a_job_log_reads_oldest_first(api: Api, store: Store, two_rules: tuple[int, int]) -> None:
    [job] = record(store, two_rules[0], ["v1"])
    store.append_log(job.id, "info", "attempt 1 started")
    store.append_log(job.id, "error", "failed: 403")

    answer = api.ok("GET", f"/jobs/{job.id}/log")

    assert answer["job_id"] == job.id
    assert [(line["level"], line["message"]) for line in answer["lines"]] == [
        ("info", "attempt 1 started"), ("error", "failed: 403")]
    assert all(line["at"].endswith("+00:00") for line in answer["lines"])


def park(publisher: RecordingPublisher, settings: Settings, job: JobRecord | str,
         attempt: int = 2) -> None:
    """Park a message in mirror's failed queue the way a consumer does."""
    message_id = job if isinstance(job, str) else str(job.id)
    body = b"garbage" if isinstance(job, str) else encode(job_message(job, "mirror"))
    publisher.ensure_endpoint("mirror")
    publisher.publish(failed_queue(settings.queue_prefix, "mirror"), body,
                      {ATTEMPT_HEADER: attempt, ERROR_HEADER: "401", REASON_HEADER: "failed"},
                      message_id=message_id)


def test_a_retried_job_leaves_the_failed_queue_for_the_work_queue(
    api: Api, store: Store, settings: Settings, publisher: RecordingPublisher,
    two_rules: tuple[int, int]
) -> None:
    job, other = record(store, two_rules[0], ["v1", "v2"])
    for failed in (job, other):
        store.mark_running(failed.id)
        store.mark_finished(failed.id, JobStatus.FAILED, "401 unauthorized")
    park(publisher, settings, "not-a-job")
    park(publisher, settings, job)
    park(publisher, settings, other)

    answer = api.ok("POST", f"/jobs/{job.id}/retry")

    assert (answer["status"], answer["attempts"]) == ("pending", 1)
    [(headers, body, message_id)] = queue_messages(work_queue(settings.queue_prefix, "mirror"))
    assert (decode(body).job_id, message_id) == (job.id, str(job.id))
    # It runs as the attempt after the failed one, at the start of a new round.
    assert (headers[ATTEMPT_HEADER], headers[ROUND_START_HEADER]) == (2, 2)
    assert ERROR_HEADER not in headers and REASON_HEADER not in headers
    # The failed queue shows exactly the failed jobs, in their order.
    assert [m for _h, _b, m in queue_messages(failed_queue(settings.queue_prefix, "mirror"))
            ] == ["not-a-job", str(other.id)]
    assert store.get_job(job.id).queued_at is not None


def test_a_redrive_after_a_retry_does_not_move_the_job_again(
    api: Api, store: Store, settings: Settings, publisher: RecordingPublisher,
    two_rules: tuple[int, int]
) -> None:
    [job] = record(store, two_rules[0], ["v1"])
    store.mark_running(job.id)
    store.mark_finished(job.id, JobStatus.FAILED, "401 unauthorized")
    park(publisher, settings, job)

    api.ok("POST", f"/jobs/{job.id}/retry")

    assert api.ok("POST", "/endpoints/mirror/redrive") == {
        "endpoint": "mirror", "moved": 0, "jobs_reset": 0}
    assert len(queue_messages(work_queue(settings.queue_prefix, "mirror"))) == 1


def test_a_failed_job_with_nothing_parked_is_queued_again_as_its_next_attempt(
    api: Api, store: Store, settings: Settings, two_rules: tuple[int, int]
) -> None:
    [job] = record(store, two_rules[0], ["v1"])
    store.mark_running(job.id)
    store.mark_finished(job.id, JobStatus.FAILED, "401 unauthorized")

    answer = api.ok("POST", f"/jobs/{job.id}/retry")

    assert (answer["status"], answer["attempts"]) == ("pending", 1)
    [(headers, body, message_id)] = queue_messages(work_queue(settings.queue_prefix, "mirror"))
    assert decode(body).job_id == job.id and message_id == str(job.id)
    assert (headers[ATTEMPT_HEADER], headers[ROUND_START_HEADER]) == (2, 2)
    log = api.ok("GET", f"/jobs/{job.id}/log")["lines"]
    assert "retried by an operator" in log[-1]["message"]


def test_a_retry_waits_for_a_redrive_of_its_endpoint(
    api: Api, store: Store, two_rules: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    [job] = record(store, two_rules[0], ["v1"])
    store.mark_finished(job.id, JobStatus.FAILED, "401 unauthorized")
    mirror = store.get_endpoint_by_name("mirror")
    monkeypatch.setattr(turns, "WAIT_SECONDS", 0.2)
    assert store.try_acquire_lease(failed_queue_lease_key(mirror.id), "a redrive", 60)

    response = api.post(f"/jobs/{job.id}/retry")

    assert response.status_code == 409
    assert "another redrive or job retry" in response.get_json()["error"]["message"]
    assert store.get_job(job.id).status == JobStatus.FAILED
    assert api.post("/endpoints/mirror/redrive").status_code == 409


@pytest.mark.parametrize("status", ["pending", "running", "succeeded"])
def test_only_a_failed_job_can_be_retried(
    api: Api, store: Store, two_rules: tuple[int, int], status: str
) -> None:
    [job] = record(store, two_rules[0], ["v1"])
    if status == "running":
        store.mark_running(job.id)
    elif status == "succeeded":
        store.mark_finished(job.id, status)

    response = api.post(f"/jobs/{job.id}/retry")

    assert response.status_code == 409
    assert "only a failed job" in response.get_json()["error"]["message"]
    assert store.get_job(job.id).status == status
