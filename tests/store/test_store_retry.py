"""`Store.reset_for_retry`: an operator sends a failed job round again."""

from __future__ import annotations

import pytest

from shared.store import (
    ConflictError,
    ExecutionStatus,
    JobStatus,
    LogLevel,
    NewJob,
    RecordNotFoundError,
    RuleRecord,
    Store,
)
from tests.store.helpers import FakeClock


def _job(rule: RuleRecord, execution_id: int | None = None) -> NewJob:
    return NewJob(rule_id=rule.id, endpoint_id=rule.endpoint_id, source_id=rule.source_id,
                  repository="team/app", tag="v1", action="replicate",
                  execution_id=execution_id)


def test_a_failed_job_goes_back_to_pending_keeping_its_attempts_and_error(
    store: Store, rule: RuleRecord, clock: FakeClock
) -> None:
    execution = store.create_execution(rule.id, "manual")
    [job] = store.create_jobs([_job(rule, execution.id)])
    store.mark_running(job.id)
    store.mark_running(job.id)
    store.mark_finished(job.id, JobStatus.FAILED, "403 denied")
    assert store.get_execution(execution.id).status is ExecutionStatus.FAILED
    clock.advance(60)

    retried = store.reset_for_retry(job.id)

    assert (retried.status, retried.attempts, retried.error) == (
        JobStatus.PENDING, 2, "403 denied")
    assert retried.finished_at is None and retried.updated_at == clock.now
    assert store.get_job(job.id) == retried
    last = store.job_log(job.id)[-1]
    assert (last.level, last.at) == (LogLevel.INFO, clock.now)
    assert "retried by an operator" in last.message
    again = store.get_execution(execution.id)
    assert again.status is ExecutionStatus.PENDING and again.finished_at is None


@pytest.mark.parametrize("status", ["pending", "running", "retrying", "succeeded", "skipped"])
def test_only_a_failed_job_can_be_retried(store: Store, rule: RuleRecord, status: str) -> None:
    [job] = store.create_jobs([_job(rule)])
    if status == "running":
        store.mark_running(job.id)
    elif status == "retrying":
        store.mark_retrying(job.id, "timeout")
    elif status != "pending":
        store.mark_finished(job.id, status)

    with pytest.raises(ConflictError, match="only a failed job"):
        store.reset_for_retry(job.id)

    assert store.get_job(job.id).status == status
    assert store.job_log(job.id) == []


def test_retrying_an_unknown_job_is_not_found(store: Store) -> None:
    with pytest.raises(RecordNotFoundError):
        store.reset_for_retry(12345)
