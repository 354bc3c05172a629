"""Executions, jobs and their logs: the jobs list tells the truth (DESIGN invariant 8)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from shared.store import (
    ExecutionRecord,
    ExecutionStatus,
    ExecutionTrigger,
    JobAction,
    JobRecord,
    JobStatus,
    LogLevel,
    NewJob,
    NewLogLine,
    RecordNotFoundError,
    RuleRecord,
    Store,
)
from tests.store.helpers import FakeClock, RawQuery


def new_job(rule: RuleRecord, tag: str | None = "v1", *,
            execution: ExecutionRecord | None = None,
            action: JobAction = JobAction.REPLICATE, repository: str = "team/app") -> NewJob:
    return NewJob(
        rule_id=rule.id, endpoint_id=rule.endpoint_id, source_id=rule.source_id,
        repository=repository, tag=tag, action=action,
        execution_id=execution.id if execution else None,
    )


def record(store: Store, rule: RuleRecord, count: int = 1, *,
           execution: ExecutionRecord | None = None) -> list[JobRecord]:
    """Record ``count`` replicate jobs (tags v0, v1, ...)."""
    return store.create_jobs([new_job(rule, f"v{i}", execution=execution) for i in range(count)])


# Recording -----------------------------------------------------------------------------


def test_jobs_are_recorded_pending_in_the_order_given(store: Store, rule: RuleRecord) -> None:
    jobs = store.create_jobs([
        new_job(rule, "v1"),
        NewJob(rule_id=rule.id, endpoint_id=rule.endpoint_id, source_id=rule.source_id,
               repository="team/app", digest="sha256:" + "a" * 64, action="delete"),
    ])

    assert [(j.tag, j.action) for j in jobs] == [("v1", "replicate"), (None, "delete")]
    assert jobs[0].id < jobs[1].id
    assert all(j.status is JobStatus.PENDING and j.attempts == 0 for j in jobs)
    assert all(j.started_at is None and j.finished_at is None and j.error is None for j in jobs)
    assert store.get_job(jobs[1].id) == jobs[1]


def test_jobs_are_recorded_all_or_nothing(store: Store, rule: RuleRecord) -> None:
    bad = NewJob(rule_id=rule.id, endpoint_id=999, source_id=rule.source_id,
                 repository="team/app", tag="v2", action="replicate")

    with pytest.raises(RecordNotFoundError):
        store.create_jobs([new_job(rule), bad])

    assert store.list_jobs() == []


def test_recording_no_jobs_is_a_no_op(store: Store) -> None:
    assert store.create_jobs([]) == []


def test_jobs_of_a_rule_deleted_since_they_were_planned_can_be_left_out(
    store: Store, rule: RuleRecord
) -> None:
    other = store.create_rule(name="team-again", source_id=rule.source_id, project="team",
                              endpoint_id=rule.endpoint_id)
    planned = [new_job(rule, "v1"), new_job(other, "v1"), new_job(rule, "v2")]
    store.delete_rule(rule.id)

    with pytest.raises(RecordNotFoundError):
        store.create_jobs(planned)
    kept = store.create_jobs(planned, skip_deleted_rules=True)
    none_left = store.create_jobs(planned[:1], skip_deleted_rules=True)

    assert [(job.rule_id, job.tag) for job in kept] == [(other.id, "v1")]
    assert none_left == []
    assert store.list_jobs() == kept


# Lifecycle -------------------------------------------------------------------------------


def test_a_job_runs_retries_and_succeeds(store: Store, rule: RuleRecord, clock: FakeClock) -> None:
    [job] = record(store, rule)
    first_start = clock.now

    assert store.mark_running(job.id) == 1
    running = store.get_job(job.id)
    assert (running.status, running.attempts, running.started_at) == (
        JobStatus.RUNNING, 1, first_start)

    clock.advance(5)
    retrying = store.mark_retrying(job.id, "connection reset by endpoint")
    assert (retrying.status, retrying.error) == (JobStatus.RETRYING, "connection reset by endpoint")
    assert retrying.finished_at is None

    clock.advance(30)
    assert store.mark_running(job.id) == 2
    done = store.mark_finished(job.id, JobStatus.SUCCEEDED)

    assert (done.status, done.attempts, done.error) == (JobStatus.SUCCEEDED, 2, None)
    assert done.started_at == first_start and done.finished_at == clock.now
    assert store.job_log(job.id) == []  # an orderly retry needs no store-written line


def test_a_permanent_failure_keeps_its_error(store: Store, rule: RuleRecord) -> None:
    [job] = record(store, rule)
    store.mark_running(job.id)

    failed = store.mark_finished(job.id, "failed", error="403: robot may not push to team")

    assert failed.status is JobStatus.FAILED
    assert failed.error == "403: robot may not push to team"


def test_a_job_whose_consumer_died_shows_it_was_retried(store: Store, rule: RuleRecord) -> None:
    # Given a consumer that marked the job running and then died,
    [job] = record(store, rule)
    store.mark_running(job.id)

    # when the broker redelivers the message to another consumer,
    attempt = store.mark_running(job.id)

    # then the job counts a second attempt and its log says why.
    assert attempt == 2 and store.get_job(job.id).attempts == 2
    [line] = store.job_log(job.id)
    assert line.level is LogLevel.WARNING
    assert "attempt 1 did not finish" in line.message and "attempt 2" in line.message


def test_a_finished_job_can_run_again(store: Store, rule: RuleRecord) -> None:
    [job] = record(store, rule)
    store.mark_running(job.id)
    store.mark_finished(job.id, JobStatus.FAILED, error="boom")

    assert store.mark_running(job.id) == 2  # a manual retry

    rerun = store.get_job(job.id)
    assert rerun.status is JobStatus.RUNNING and rerun.finished_at is None


def test_an_attempt_that_failed_before_the_job_ran_counts_and_shows(
    store: Store, rule: RuleRecord
) -> None:
    # Given a job whose first two attempts failed before it ran (the source was down),
    [job] = record(store, rule)
    first = store.mark_not_started(job.id, 1, JobStatus.RETRYING, "source down",
                                   "attempt 1 failed, retrying in 30s: source down")
    store.mark_not_started(job.id, 2, JobStatus.RETRYING, "source down",
                           "attempt 2 failed, retrying in 2m: source down")

    # when its third attempt starts,
    attempt = store.mark_running(job.id, 3)

    # then the record says 3 attempts, as its log does.
    assert (first.status, first.attempts, first.error) == (JobStatus.RETRYING, 1, "source down")
    assert attempt == 3 and store.get_job(job.id).attempts == 3
    assert [line.message for line in store.job_log(job.id)] == [
        "attempt 1 failed, retrying in 30s: source down",
        "attempt 2 failed, retrying in 2m: source down",
    ]


def test_a_job_that_cannot_start_fails_with_its_error(store: Store, rule: RuleRecord) -> None:
    [job] = record(store, rule)

    failed = store.mark_not_started(job.id, 1, JobStatus.FAILED, "cannot decrypt",
                                    "failed: cannot decrypt")

    assert (failed.status, failed.attempts, failed.error) == (JobStatus.FAILED, 1, "cannot decrypt")
    assert failed.finished_at is not None
    [line] = store.job_log(job.id)
    assert (line.level, line.message) == (LogLevel.ERROR, "failed: cannot decrypt")
    with pytest.raises(ValueError, match="retrying or failed"):
        store.mark_not_started(job.id, 2, JobStatus.SUCCEEDED, "x", "x")


def test_a_finished_job_is_not_changed_by_a_late_failure_to_start(
    store: Store, rule: RuleRecord
) -> None:
    [job] = record(store, rule)
    store.mark_running(job.id)
    store.mark_finished(job.id, JobStatus.SUCCEEDED)

    late = store.mark_not_started(job.id, 2, JobStatus.RETRYING, "x", "x")

    assert (late.status, late.attempts) == (JobStatus.SUCCEEDED, 1)
    assert store.job_log(job.id) == []


def test_attempts_the_record_missed_are_counted_and_noted(store: Store, rule: RuleRecord) -> None:
    # Given a job whose first two attempts could not be recorded (the store was down),
    [job] = record(store, rule)

    # when its message's third attempt starts,
    attempt = store.mark_running(job.id, 3)

    # then the count follows the message, and the log says where the gap is.
    assert attempt == 3 and store.get_job(job.id).attempts == 3
    [line] = store.job_log(job.id)
    assert line.level is LogLevel.WARNING
    assert line.message.startswith("attempts 1-2 failed before the job ran and could not be "
                                   "recorded here")


def test_a_manual_retry_keeps_counting_from_the_job(store: Store, rule: RuleRecord) -> None:
    [job] = record(store, rule)
    store.mark_running(job.id)
    store.mark_finished(job.id, JobStatus.FAILED, error="boom")
    store.reset_for_retry(job.id)

    # (its message starts again at attempt 1)
    assert store.mark_running(job.id, 1) == 2


def test_mark_finished_only_takes_a_final_status(store: Store, rule: RuleRecord) -> None:
    [job] = record(store, rule)

    with pytest.raises(ValueError, match="mark_finished needs one of"):
        store.mark_finished(job.id, JobStatus.RUNNING)
    with pytest.raises(ValueError):
        store.mark_finished(job.id, "exploded")


def test_transitions_of_an_unknown_job_are_not_found(store: Store) -> None:
    for transition in (
        lambda: store.mark_running(7),
        lambda: store.mark_retrying(7, "x"),
        lambda: store.mark_finished(7, "succeeded"),
        lambda: store.append_log(7, "info", "x"),
        lambda: store.job_log(7),
        lambda: store.get_job(7),
    ):
        with pytest.raises(RecordNotFoundError, match="job 7 not found"):
            transition()


# Publish failures ----------------------------------------------------------------------------


def test_jobs_whose_publish_failed_are_not_left_pending(store: Store, rule: RuleRecord) -> None:
    # Given jobs recorded by the receiver, whose publish to the broker then failed,
    jobs = record(store, rule, 2)

    # when the receiver reports it,
    failed_ids = store.mark_publish_failed([j.id for j in jobs], "broker unreachable")

    # then none stays pending: each failed with the reason, in its record and its log.
    assert failed_ids == [j.id for j in jobs]
    assert store.list_jobs(status=JobStatus.PENDING) == []
    for job in jobs:
        stored = store.get_job(job.id)
        assert (stored.status, stored.error) == (JobStatus.FAILED, "broker unreachable")
        assert stored.finished_at is not None
        [line] = store.job_log(job.id)
        assert line.level is LogLevel.ERROR and "broker unreachable" in line.message


def test_a_publish_failure_leaves_jobs_a_consumer_already_took(
    store: Store, rule: RuleRecord
) -> None:
    # A confirm that timed out may still have delivered the message.
    taken, untaken = record(store, rule, 2)
    store.mark_running(taken.id)

    assert store.mark_publish_failed([taken.id, untaken.id, 12345], "confirm timed out") == [
        untaken.id
    ]
    assert store.get_job(taken.id).status is JobStatus.RUNNING


# Logs and listing ------------------------------------------------------------------------------


def test_log_lines_come_back_in_order(store: Store, rule: RuleRecord, clock: FakeClock) -> None:
    [job] = record(store, rule)
    store.append_log(job.id, LogLevel.INFO, "copying 3 blobs")
    clock.advance(1)
    store.append_log(job.id, "error", "blob sha256:ab… digest mismatch")

    lines = store.job_log(job.id)

    assert [(line.level, line.message) for line in lines] == [
        (LogLevel.INFO, "copying 3 blobs"),
        (LogLevel.ERROR, "blob sha256:ab… digest mismatch"),
    ]
    assert lines[1].at == clock.now and lines[0].at < lines[1].at


def test_lines_kept_back_are_written_at_once_with_the_time_they_were_said(
    store: Store, rule: RuleRecord, clock: FakeClock
) -> None:
    first, second = record(store, rule, 2)
    said = clock.now
    lines = [NewLogLine(first.id, said, LogLevel.INFO, "copying"),
             NewLogLine(second.id, said, LogLevel.WARNING, "waiting"),
             NewLogLine(first.id, said, LogLevel.INFO, "blob uploaded")]
    clock.advance(5)

    store.append_logs(lines)

    assert [(line.message, line.at) for line in store.job_log(first.id)] == [
        ("copying", said), ("blob uploaded", said)]
    assert [(line.level, line.message) for line in store.job_log(second.id)] == [
        (LogLevel.WARNING, "waiting")]


def test_lines_of_a_job_deleted_meanwhile_are_dropped(store: Store, rule: RuleRecord,
                                                      clock: FakeClock) -> None:
    [job] = record(store, rule)
    other_rule = store.create_rule(name="ops-to-b", source_id=rule.source_id, project="ops",
                                   endpoint_id=rule.endpoint_id)
    [gone] = record(store, other_rule)
    store.delete_rule(other_rule.id)

    store.append_logs([NewLogLine(gone.id, clock.now, LogLevel.INFO, "copying"),
                       NewLogLine(job.id, clock.now, LogLevel.INFO, "copying")])

    assert [line.message for line in store.job_log(job.id)] == ["copying"]


def test_a_state_change_writes_the_lines_kept_back_before_its_own(
    store: Store, rule: RuleRecord, clock: FakeClock
) -> None:
    [job] = record(store, rule)
    said = clock.now
    clock.advance(2)
    store.mark_running(job.id)  # a run that stopped: the next one says so

    attempt = store.start_run(job.id, 1, [NewLogLine(job.id, said, LogLevel.INFO, "waiting")])
    store.mark_finished(job.id, JobStatus.SUCCEEDED,
                        lines=[NewLogLine(job.id, clock.now, LogLevel.INFO, "done")])

    assert attempt == 2
    assert [(line.message.split(" (")[0], line.at) for line in store.job_log(job.id)] == [
        ("waiting", said), ("attempt 1 did not finish", clock.now), ("done", clock.now)]
    assert store.get_job(job.id).status is JobStatus.SUCCEEDED


def test_a_run_does_not_start_a_job_that_finished_meanwhile(
    store: Store, rule: RuleRecord, clock: FakeClock
) -> None:
    [job] = record(store, rule)
    store.mark_running(job.id)
    finished = store.mark_finished(job.id, JobStatus.SUCCEEDED)

    assert store.start_run(job.id, 2, [NewLogLine(job.id, clock.now, LogLevel.INFO,
                                                  "waiting")]) is None
    assert store.get_job(job.id) == finished
    assert store.job_log(job.id) == []


def test_jobs_are_listed_newest_first_with_filters_and_pages(
    store: Store, rule: RuleRecord
) -> None:
    other_rule = store.create_rule(
        name="ops-to-b", source_id=rule.source_id, project="ops", endpoint_id=rule.endpoint_id
    )
    team = record(store, rule, 3)
    [ops] = record(store, other_rule)
    store.mark_running(team[0].id)

    assert [j.id for j in store.list_jobs()] == [ops.id, team[2].id, team[1].id, team[0].id]
    assert [j.id for j in store.list_jobs(rule_id=rule.id, limit=2)] == [team[2].id, team[1].id]
    assert [j.id for j in store.list_jobs(rule_id=rule.id, limit=2, offset=2)] == [team[0].id]
    assert [j.id for j in store.list_jobs(status="running")] == [team[0].id]
    assert len(store.list_jobs(endpoint_id=rule.endpoint_id)) == 4
    assert store.list_jobs(endpoint_id=rule.endpoint_id + 1) == []


# Executions ----------------------------------------------------------------------------------


def test_an_execution_follows_its_jobs(store: Store, rule: RuleRecord, clock: FakeClock) -> None:
    execution = store.create_execution(rule.id, ExecutionTrigger.INITIAL)
    assert (execution.status, execution.total, execution.finished_at) == (
        ExecutionStatus.PENDING, 0, None)

    [sync] = store.create_jobs([new_job(rule, None, execution=execution, action=JobAction.SYNC,
                                        repository="team")])
    store.mark_running(sync.id)
    assert store.get_execution(execution.id).status is ExecutionStatus.RUNNING

    images = record(store, rule, 3, execution=execution)
    store.mark_finished(sync.id, JobStatus.SUCCEEDED)
    progress = store.get_execution(execution.id)
    assert (progress.status, progress.total, progress.succeeded) == (
        ExecutionStatus.RUNNING, 3, 0)  # the sync job itself is not an image

    store.mark_finished(images[0].id, JobStatus.SUCCEEDED)
    store.mark_finished(images[1].id, JobStatus.SKIPPED)
    clock.advance(10)
    store.mark_finished(images[2].id, JobStatus.FAILED, error="403")

    done = store.get_execution(execution.id)
    assert (done.status, done.total, done.succeeded, done.skipped, done.failed) == (
        ExecutionStatus.PARTIAL, 3, 1, 1, 1)
    assert done.finished_at == clock.now


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        ([JobStatus.SUCCEEDED, JobStatus.SKIPPED], ExecutionStatus.SUCCEEDED),
        ([JobStatus.FAILED, JobStatus.FAILED], ExecutionStatus.FAILED),
        ([JobStatus.FAILED, JobStatus.SUCCEEDED], ExecutionStatus.PARTIAL),
        ([JobStatus.SUCCEEDED, None], ExecutionStatus.RUNNING),
    ],
)
def test_execution_status_is_derived_from_job_outcomes(
    store: Store, rule: RuleRecord, outcomes: list[JobStatus | None], expected: ExecutionStatus
) -> None:
    execution = store.create_execution(rule.id, "manual")
    jobs = record(store, rule, len(outcomes), execution=execution)
    for job, outcome in zip(jobs, outcomes, strict=True):
        if outcome is not None:
            store.mark_finished(job.id, outcome)

    assert store.get_execution(execution.id).status == expected


def test_an_execution_with_only_pending_jobs_is_pending(store: Store, rule: RuleRecord) -> None:
    execution = store.create_execution(rule.id, "scheduled")
    record(store, rule, 2, execution=execution)

    assert store.refresh_execution(execution.id).status is ExecutionStatus.PENDING


def test_a_failed_publish_finishes_the_execution(store: Store, rule: RuleRecord) -> None:
    execution = store.create_execution(rule.id, "manual")
    jobs = record(store, rule, 2, execution=execution)

    store.mark_publish_failed([j.id for j in jobs], "broker unreachable")

    failed = store.get_execution(execution.id)
    assert (failed.status, failed.failed) == (ExecutionStatus.FAILED, 2)
    assert failed.finished_at is not None


def test_an_execution_runs_again_when_a_job_is_retried_by_hand(
    store: Store, rule: RuleRecord
) -> None:
    execution = store.create_execution(rule.id, "manual")
    [job] = record(store, rule, execution=execution)
    store.mark_finished(job.id, JobStatus.FAILED, error="boom")

    store.mark_running(job.id)

    again = store.get_execution(execution.id)
    assert again.status is ExecutionStatus.RUNNING and again.finished_at is None


def test_executions_are_listed_newest_first(store: Store, rule: RuleRecord) -> None:
    first = store.create_execution(rule.id, "initial")
    second = store.create_execution(rule.id, "manual")

    assert [e.id for e in store.list_executions(rule_id=rule.id)] == [second.id, first.id]
    assert [e.id for e in store.list_executions(status="pending", limit=1)] == [second.id]
    with pytest.raises(RecordNotFoundError):
        store.create_execution(rule.id + 100, "manual")


def test_counts_stay_right_when_consumers_finish_jobs_at_once(
    open_stores: Callable[[], Store], rule: RuleRecord
) -> None:
    # Given one execution with 40 jobs and four consumer processes (one store each),
    stores = [open_stores() for _ in range(4)]
    execution = stores[0].create_execution(rule.id, "initial")
    jobs = record(stores[0], rule, 40, execution=execution)
    errors: list[BaseException] = []

    def consume(worker: int) -> None:
        try:
            for job in jobs[worker::4]:
                stores[worker].mark_running(job.id)
                stores[worker].mark_finished(job.id, JobStatus.SUCCEEDED)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    # when they all finish their jobs concurrently,
    threads = [threading.Thread(target=consume, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then the execution counts every job exactly once.
    assert errors == []
    done = stores[0].get_execution(execution.id)
    assert (done.status, done.total, done.succeeded) == (ExecutionStatus.SUCCEEDED, 40, 40)


# Plans, deferral and newer jobs (convergence) ------------------------------------------


def test_a_job_plan_is_recorded_and_forgotten(
    store: Store, rule: RuleRecord, raw_query: RawQuery
) -> None:
    (job,) = record(store, rule)
    assert job.plan is None
    plan = {"digest": "sha256:" + "a" * 64, "restore": ["v2", "latest"], "step": 1}

    store.set_job_plan(job.id, plan)
    assert store.get_job(job.id).plan == plan
    assert store.list_jobs()[0].plan == plan

    store.set_job_plan(job.id, None)
    assert store.get_job(job.id).plan is None
    assert raw_query(f"SELECT count(*) FROM jobs WHERE plan IS NULL AND id = {job.id}") == [(1,)]
    with pytest.raises(RecordNotFoundError):
        store.set_job_plan(999, plan)


def test_a_deferred_job_is_pending_again_with_its_attempts_kept(
    store: Store, rule: RuleRecord
) -> None:
    execution = store.create_execution(rule.id, ExecutionTrigger.MANUAL)
    (job,) = record(store, rule, execution=execution)
    store.mark_running(job.id)

    deferred = store.mark_deferred(job.id, "the tag is not linked at the source yet")

    assert deferred.status is JobStatus.PENDING
    assert deferred.attempts == 1 and deferred.finished_at is None
    assert deferred.started_at is not None
    assert store.get_job(job.id) == deferred
    last = store.job_log(job.id)[-1]
    assert (last.level, last.message) == (LogLevel.INFO, "the tag is not linked at the source yet")
    assert store.get_execution(execution.id).status is ExecutionStatus.PENDING
    assert store.mark_running(job.id) == 2  # the next run is the second attempt
    with pytest.raises(RecordNotFoundError):
        store.mark_deferred(999, "nothing")


def test_a_newer_job_for_the_same_tag_is_found(store: Store, rule: RuleRecord) -> None:
    other_rule = store.create_rule(name="other", source_id=rule.source_id, project="team",
                                   endpoint_id=rule.endpoint_id)
    first, other_tag, other_repo, newer, newest, *_, by_digest, elsewhere = store.create_jobs([
        new_job(rule, "v1"),
        new_job(rule, "v2"),
        new_job(rule, "v1", repository="team/web"),
        new_job(rule, "v1", action=JobAction.DELETE),
        new_job(rule, "v1"),
        new_job(rule, "v1", action=JobAction.SYNC),  # not an event: supersedes nothing
        new_job(rule, None),
        new_job(other_rule, "v1"),
    ])

    assert store.newer_job(first) == newest.id
    assert store.newer_job(newer) == newest.id
    assert store.newer_job(newest) is None
    assert store.newer_job(other_tag) is None
    assert store.newer_job(other_repo) is None
    assert store.newer_job(by_digest) is None  # no tag: nothing to supersede it
    assert store.newer_job(elsewhere) is None
