"""Jobs marked queued when RabbitMQ confirmed them, deleted when a 503 gives them up,
and listed for the sweeper when their publish was lost (DESIGN invariants 1 and 8)."""

from __future__ import annotations

from datetime import timedelta

from shared.store import ExecutionTrigger, JobStatus, LogLevel, RuleRecord, Store
from tests.store.helpers import FakeClock
from tests.store.test_store_jobs import new_job, record


def test_jobs_are_recorded_unqueued_and_marked_queued_in_one_batch(
    store: Store, rule: RuleRecord, clock: FakeClock
) -> None:
    first, second, other = record(store, rule, 3)
    assert first.queued_at is None

    clock.advance(1)
    store.mark_queued([first.id, second.id])

    assert store.get_job(first.id).queued_at == clock.now
    assert store.get_job(second.id).queued_at == clock.now
    assert store.get_job(other.id).queued_at is None


def test_a_503_deletes_only_the_jobs_still_pending_and_unqueued(
    store: Store, rule: RuleRecord
) -> None:
    # Given jobs recorded for a webhook whose publish then failed: one a consumer already
    # took (its message got through after all), one already queued, two untouched,
    execution = store.create_execution(rule.id, ExecutionTrigger.MANUAL)
    taken, queued, *untouched = store.create_jobs(
        [new_job(rule, f"v{i}", execution=execution) for i in range(4)])
    store.mark_running(taken.id)
    store.mark_queued([queued.id])
    store.append_log(untouched[0].id, LogLevel.INFO, "a line")

    # when the receiver gives them up,
    deleted = store.discard_unqueued([j.id for j in (taken, queued, *untouched)] + [12345])

    # then only the untouched ones are gone, their logs with them, and the execution counts
    # what is left.
    assert deleted == sorted(j.id for j in untouched)
    assert {j.id for j in store.list_jobs()} == {taken.id, queued.id}
    assert store.get_execution(execution.id).total == 2
    assert store.discard_unqueued([]) == []


def test_the_sweeper_lists_pending_jobs_never_queued_and_old_enough(
    store: Store, rule: RuleRecord, clock: FakeClock
) -> None:
    lost, queued, running = record(store, rule, 3)
    store.mark_queued([queued.id])
    store.mark_running(running.id)
    clock.advance(300)
    [young] = store.create_jobs([new_job(rule, "young")])

    found = store.unqueued_jobs(clock.now - timedelta(seconds=120))

    assert [job.id for job in found] == [lost.id]
    later = store.unqueued_jobs(clock.now + timedelta(seconds=1))
    assert [job.id for job in later] == [lost.id, young.id]


def test_a_job_reset_for_retry_is_unqueued_until_published_again(
    store: Store, rule: RuleRecord, clock: FakeClock
) -> None:
    [job] = record(store, rule)
    store.mark_queued([job.id])
    store.mark_running(job.id)
    store.mark_finished(job.id, JobStatus.FAILED, "boom")

    clock.advance(600)
    reset = store.reset_for_retry(job.id)

    assert reset.queued_at is None
    # Counted from the reset, not from when the job was first recorded.
    assert store.unqueued_jobs(clock.now - timedelta(seconds=120)) == []
    assert [j.id for j in store.unqueued_jobs(clock.now + timedelta(seconds=1))] == [job.id]
