"""The webhook path has a deadline, and a 503 leaves no job behind (issue 9).

The broker's failures come from a fake publisher (the real one's timeouts are the
broker tests' business); the store is the real SQLite one, failing on purpose
where a test says so. A success goes through the real RabbitMQ.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from receiver.app import create_app
from shared.broker import (
    BrokerBlockedError,
    BrokerUnavailableError,
    Publisher,
    PublishTimeoutError,
)
from shared.messages import JobMessage
from shared.settings import Settings
from shared.store import JobStatus, NewJob, RuleRecord, Store, StoreUnavailableError
from tests.receiver.conftest import ADMIN_TOKEN, Records, sample_value
from tests.receiver.test_webhooks import body_of, post, push

DEADLINE = 1.0
MARGIN = 0.5  # a busy 2-core machine


class FakePublisher(Publisher):
    """A `Publisher` that never connects and answers publishes as told: `blocked`,
    `error` raised at once, or `hang` until the deadline it is given (then
    `PublishTimeoutError`, as the real one does)."""

    def __init__(self, settings: Settings, *, blocked: bool = False,
                 error: Exception | None = None, hang: bool = False) -> None:
        super().__init__(settings, name="fake")
        self.is_blocked = blocked
        self.error = error
        self.hang = hang
        self.published: list[JobMessage] = []
        self.deadlines: list[float | None] = []

    @property
    def blocked(self) -> bool:
        return self.is_blocked

    def publish_jobs(self, jobs: Sequence[JobMessage], *, deadline: float | None = None,
                     attempt: int = 1) -> None:
        self.deadlines.append(deadline)
        if self.is_blocked:
            raise BrokerBlockedError("blocked by a memory alarm")
        if self.hang:
            time.sleep(max(0.0, (deadline or time.monotonic() + 30) - time.monotonic()))
            raise PublishTimeoutError("no confirm before the deadline")
        if self.error is not None:
            raise self.error
        self.published.extend(jobs)


def receiver(settings: Settings, store: Store, **fake: Any) -> tuple[Flask, FakePublisher]:
    """The receiver with a `FakePublisher` (`fake`: its behaviour) and a short deadline."""
    changed = settings.replace(webhook_deadline_seconds=DEADLINE, admin_token=ADMIN_TOKEN)
    publisher = FakePublisher(changed, **fake)
    app = create_app(changed, store=store, publisher=publisher)
    app.config["TESTING"] = True
    return app, publisher


def webhook(app: Flask, source: str) -> tuple[Any, float]:
    """Send one push; the answer and how long it took."""
    started = time.monotonic()
    answer = post(app.test_client(), source, push())
    return answer, time.monotonic() - started


def unavailable(app: Flask, reason: str) -> float:
    return sample_value(app, "crossdock_receiver_webhooks_unavailable_total", reason=reason)


def assert_503(answer: Any, reason: str) -> None:
    assert answer.status_code == 503, answer.data
    assert answer.headers["Retry-After"]
    error = body_of(answer)["error"]
    assert (error["code"], error["reason"]) == ("unavailable", reason)


@pytest.fixture
def source_name(records: Records) -> str:
    source = records.source()
    records.rule(source, records.endpoint(), project="lib")
    return source.name


def test_a_publish_that_times_out_answers_503_in_time_and_leaves_no_job(
    settings: Settings, store: Store, source_name: str
) -> None:
    app, publisher = receiver(settings, store, hang=True)

    answer, took = webhook(app, source_name)

    assert_503(answer, "timeout")
    assert took < DEADLINE + MARGIN
    [given] = publisher.deadlines
    assert given is not None and given < time.monotonic()  # it had one, inside ours
    assert store.list_jobs() == []  # the registry sends the event again
    assert unavailable(app, "timeout") == 1


def test_a_blocked_broker_answers_503_before_anything_is_recorded(
    settings: Settings, store: Store, source_name: str
) -> None:
    app, publisher = receiver(settings, store, blocked=True)

    answer, _took = webhook(app, source_name)

    assert_503(answer, "blocked")
    assert publisher.deadlines == []  # not even tried
    assert store.list_jobs() == []
    assert unavailable(app, "blocked") == 1


def test_an_unreachable_broker_answers_503_and_leaves_no_job(
    settings: Settings, store: Store, source_name: str
) -> None:
    app, _publisher = receiver(settings, store, error=BrokerUnavailableError("refused"))

    answers = [webhook(app, source_name)[0] for _ in range(3)]  # the registry's retries

    for answer in answers:
        assert_503(answer, "unreachable")
    assert store.list_jobs() == []  # not one failed job per retry
    assert unavailable(app, "unreachable") == 3


def test_jobs_that_cannot_be_deleted_either_are_marked_failed(
    settings: Settings, store: Store, source_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _publisher = receiver(settings, store, error=BrokerUnavailableError("refused"))

    def busy(_ids: object) -> list[int]:
        raise StoreUnavailableError("database unavailable: locked")

    monkeypatch.setattr(store, "discard_unqueued", busy)
    answer, _took = webhook(app, source_name)

    assert_503(answer, "unreachable")
    [job] = store.list_jobs()
    assert job.status is JobStatus.FAILED and "could not queue" in (job.error or "")


@pytest.mark.parametrize("failing", ["get_source_by_name", "list_rules", "create_jobs"])
def test_a_store_that_fails_answers_503_store_busy(
    settings: Settings, store: Store, source_name: str, monkeypatch: pytest.MonkeyPatch,
    failing: str,
) -> None:
    app, publisher = receiver(settings, store)

    def busy(*_args: object, **_kwargs: object) -> None:
        raise StoreUnavailableError("database unavailable: database is locked")

    monkeypatch.setattr(store, failing, busy)
    answer, _took = webhook(app, source_name)
    monkeypatch.undo()

    assert_503(answer, "store_busy")
    assert publisher.published == []
    assert store.list_jobs() == []
    assert unavailable(app, "store_busy") == 1


def test_a_slow_store_read_past_the_deadline_answers_503_timeout_unrecorded(
    settings: Settings, store: Store, source_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, publisher = receiver(settings, store)
    list_rules = store.list_rules

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(DEADLINE)
        return list_rules(*args, **kwargs)

    monkeypatch.setattr(store, "list_rules", slow)
    answer, took = webhook(app, source_name)

    assert_503(answer, "timeout")
    assert took < DEADLINE + MARGIN
    assert publisher.published == []
    assert store.list_jobs() == []


def test_an_accepted_webhook_marks_its_jobs_queued(
    client: FlaskClient, store: Store, source_name: str
) -> None:
    answer = post(client, source_name, push())

    assert answer.status_code == 202, answer.data
    [job_id] = body_of(answer)["jobs"]
    job = store.get_job(job_id)
    assert job.queued_at is not None and job.queued_at >= job.created_at
    assert store.unqueued_jobs(job.created_at.replace(year=2999)) == []


# The API calls that publish: the same deadline, a 503 with the reason ---------------------


def api(app: Flask, path: str) -> Any:
    return app.test_client().post(f"/api/v1{path}",
                                  headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})


def test_enable_with_a_broker_that_times_out_answers_503_and_fails_the_sync_job(
    settings: Settings, store: Store, records: Records
) -> None:
    rule = records.rule(records.source(), records.endpoint(), enabled=False)
    app, _publisher = receiver(settings, store, hang=True)

    started = time.monotonic()
    answer = api(app, f"/rules/{rule.name}/enable")

    assert time.monotonic() - started < DEADLINE + MARGIN
    assert_503(answer, "timeout")
    execution_id = body_of(answer)["error"]["execution_id"]
    [job] = store.list_jobs(execution_id=execution_id)
    assert job.status is JobStatus.FAILED and "could not queue" in (job.error or "")
    assert store.get_rule(rule.id).enabled  # retry the job, or run the rule


def test_enable_with_a_blocked_broker_changes_nothing(
    settings: Settings, store: Store, records: Records
) -> None:
    rule = records.rule(records.source(), records.endpoint(), enabled=False)
    app, _publisher = receiver(settings, store, blocked=True)

    answer = api(app, f"/rules/{rule.name}/enable")

    assert_503(answer, "blocked")
    assert not store.get_rule(rule.id).enabled
    assert store.list_executions() == []


def test_retry_with_a_broker_that_times_out_answers_503_and_fails_the_job_again(
    settings: Settings, store: Store, records: Records
) -> None:
    rule = records.rule(records.source(), records.endpoint(), enabled=False)
    [job] = store.create_jobs([_spec(rule)])
    store.mark_publish_failed([job.id], "earlier outage")
    app, _publisher = receiver(settings, store, hang=True)

    answer = api(app, f"/jobs/{job.id}/retry")

    assert_503(answer, "timeout")
    again = store.get_job(job.id)
    assert again.status is JobStatus.FAILED and "no confirm" in (again.error or "")


def _spec(rule: RuleRecord) -> NewJob:
    return NewJob(rule_id=rule.id, endpoint_id=rule.endpoint_id, source_id=rule.source_id,
                  repository="lib/app", tag="v1", action="replicate")
