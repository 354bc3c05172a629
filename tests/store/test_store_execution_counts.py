"""An execution's counters follow its jobs exactly (issue #12): each job transition
moves them by its own change, and after any sequence of transitions they, the status
and ``finished_at`` are what counting the jobs again gives, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from shared.store import (
    ConflictError,
    ExecutionStatus,
    JobAction,
    JobStatus,
    NewJob,
    RecordNotFoundError,
    RuleRecord,
    Store,
)
from tests.store.helpers import FakeClock

EXECUTIONS = 2
ACTIONS = st.sampled_from([JobAction.REPLICATE, JobAction.DELETE, JobAction.SYNC])
# Which execution a new job belongs to: an index into the machine's executions, or
# None (a webhook's job, of no execution).
OWNER = st.one_of(st.none(), st.integers(0, EXECUTIONS - 1))
FINAL = st.sampled_from([JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.SKIPPED])


class ExecutionCounts(RuleBasedStateMachine):
    """Random transitions of jobs of two executions (and of none); after each step
    every execution's stored counters, status and ``finished_at`` are checked against
    a recount of its jobs."""

    jobs = Bundle("jobs")

    def __init__(self, store: Store, rule_: RuleRecord, clock: FakeClock) -> None:
        super().__init__()
        self.store = store
        self.rule = rule_
        self.clock = clock
        self.executions: list[int] = []
        # When each execution last became finished (None: unfinished), as the store
        # must have it: set when it finishes, kept while it stays finished.
        self.finished_at: dict[int, datetime | None] = {}
        self.tag = 0

    def _new(self, owner: int | None, action: JobAction) -> NewJob:
        self.tag += 1
        return NewJob(
            rule_id=self.rule.id, endpoint_id=self.rule.endpoint_id,
            source_id=self.rule.source_id, repository="team/app",
            tag=None if action is JobAction.SYNC else f"v{self.tag}", action=action,
            execution_id=None if owner is None else self.executions[owner],
        )

    def _step(self) -> None:
        """Each transition at its own time, so a finished_at set anew shows."""
        self.clock.advance(1)

    @initialize(target=jobs)
    def start_executions(self) -> object:
        # Each execution starts as an initial sync does: with its sync job.
        for _ in range(EXECUTIONS):
            self.executions.append(self.store.create_execution(self.rule.id, "initial").id)
        made = self.store.create_jobs([
            self._new(index, JobAction.SYNC) for index in range(EXECUTIONS)])
        return multiple(*(job.id for job in made))

    @rule(target=jobs, specs=st.lists(st.tuples(OWNER, ACTIONS), min_size=1, max_size=4))
    def create_jobs(self, specs: list[tuple[int | None, JobAction]]) -> object:
        self._step()
        made = self.store.create_jobs([self._new(owner, action) for owner, action in specs])
        return multiple(*(job.id for job in made))

    @rule(job=jobs)
    def mark_running(self, job: int) -> None:
        self._step()
        with suppress(RecordNotFoundError):  # discarded by an earlier step
            self.store.mark_running(job)

    @rule(job=jobs)
    def start_run(self, job: int) -> None:
        self._step()
        with suppress(RecordNotFoundError):  # discarded by an earlier step
            self.store.start_run(job, 1)

    @rule(job=jobs, status=FINAL)
    def mark_finished(self, job: int, status: JobStatus) -> None:
        self._step()
        with suppress(RecordNotFoundError):  # discarded by an earlier step
            self.store.mark_finished(job, status, "boom")

    @rule(job=jobs)
    def mark_retrying(self, job: int) -> None:
        self._step()
        with suppress(RecordNotFoundError):  # discarded by an earlier step
            self.store.mark_retrying(job, "timeout")

    @rule(job=jobs, status=st.sampled_from([JobStatus.RETRYING, JobStatus.FAILED]))
    def mark_not_started(self, job: int, status: JobStatus) -> None:
        self._step()
        with suppress(RecordNotFoundError):  # discarded by an earlier step
            self.store.mark_not_started(job, 1, status, "e", "no secret")

    @rule(job=jobs)
    def mark_deferred(self, job: int) -> None:
        self._step()
        with suppress(RecordNotFoundError):  # discarded by an earlier step
            self.store.mark_deferred(job, "not linked yet")

    @rule(job=jobs)
    def reset_for_retry(self, job: int) -> None:
        self._step()
        # Not failed (ConflictError): nothing changes.
        with suppress(RecordNotFoundError, ConflictError):
            self.store.reset_for_retry(job)

    @rule(some=st.lists(jobs, max_size=4))
    def mark_queued(self, some: list[int]) -> None:
        self.store.mark_queued(some)

    @rule(some=st.lists(jobs, max_size=4))
    def mark_publish_failed(self, some: list[int]) -> None:
        self._step()
        self.store.mark_publish_failed(some, "broker gone")

    @rule(some=st.lists(jobs, max_size=4))
    def discard_unqueued(self, some: list[int]) -> None:
        self._step()
        self.store.discard_unqueued(some)

    def _from_the_jobs(self, execution_id: int) -> tuple[ExecutionStatus, int, int, int, int]:
        """Status and image counts as the jobs list reads, without the store's counting
        (it shares its tally with the counters): pending while no job started, running
        while any is unfinished, then succeeded, failed (all failed) or partial."""
        listed = self.store.list_jobs(execution_id=execution_id, limit=10_000)
        statuses = [job.status for job in listed]
        images = [job.status for job in listed if job.action is not JobAction.SYNC]
        if any(not s.finished for s in statuses):
            started = any(s is not JobStatus.PENDING for s in statuses)
            status = ExecutionStatus.RUNNING if started else ExecutionStatus.PENDING
        elif JobStatus.FAILED not in statuses:
            status = ExecutionStatus.SUCCEEDED
        elif set(statuses) == {JobStatus.FAILED}:
            status = ExecutionStatus.FAILED
        else:
            status = ExecutionStatus.PARTIAL
        return (status, len(images), images.count(JobStatus.SUCCEEDED),
                images.count(JobStatus.FAILED), images.count(JobStatus.SKIPPED))

    @invariant()
    def counters_are_what_counting_gives(self) -> None:
        for execution_id in self.executions:
            stored = self.store.execution_counts(execution_id)
            counted = self.store.recount_execution(execution_id)
            assert stored == counted
            record = self.store.get_execution(execution_id)
            assert record.status is counted.status
            assert (record.total, record.succeeded, record.failed, record.skipped) == (
                counted.total, counted.succeeded, counted.failed, counted.skipped)
            assert (record.status, record.total, record.succeeded, record.failed,
                    record.skipped) == self._from_the_jobs(execution_id)
            expected = self.finished_at.get(execution_id)
            if not record.status.finished:
                expected = None
            elif expected is None:
                expected = record.finished_at
                assert expected == self.clock.now  # set by the step that finished it
            assert record.finished_at == expected
            self.finished_at[execution_id] = expected


def test_counters_follow_any_sequence_of_transitions(
    store: Store, rule: RuleRecord, clock: FakeClock
) -> None:
    run_state_machine_as_test(
        lambda: ExecutionCounts(store, rule, clock),
        settings=settings(max_examples=40, stateful_step_count=25, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                 HealthCheck.too_slow]),
    )


def test_every_kind_of_execution_status_is_reached(store: Store, rule: RuleRecord) -> None:
    """The machine's checks mean something only if the statuses it compares vary:
    one execution driven through each of them by hand, counters equal at each."""
    execution = store.create_execution(rule.id, "initial").id
    sync, image = store.create_jobs([
        NewJob(rule_id=rule.id, endpoint_id=rule.endpoint_id, source_id=rule.source_id,
               repository="team/app", tag=tag, action=action, execution_id=execution)
        for tag, action in ((None, JobAction.SYNC), ("v1", JobAction.REPLICATE))])
    seen = [store.get_execution(execution).status]
    for step in (lambda: store.mark_running(sync.id),
                 lambda: store.mark_finished(sync.id, JobStatus.FAILED, "x"),
                 lambda: store.mark_publish_failed([image.id], "x"),
                 lambda: store.reset_for_retry(image.id),
                 lambda: store.mark_finished(image.id, JobStatus.SUCCEEDED)):
        step()
        assert store.execution_counts(execution) == store.recount_execution(execution)
        seen.append(store.get_execution(execution).status)
    assert seen == [ExecutionStatus.PENDING, ExecutionStatus.RUNNING, ExecutionStatus.RUNNING,
                    ExecutionStatus.FAILED, ExecutionStatus.RUNNING, ExecutionStatus.PARTIAL]


@pytest.mark.parametrize("what", ["endpoint", "source"])
def test_jobs_cascaded_away_with_an_endpoint_or_source_leave_their_execution_counted(
    store: Store, rule: RuleRecord, what: str
) -> None:
    # Given an execution with a finished job and one still pending, whose rule then
    # moved to another endpoint (source),
    execution = store.create_execution(rule.id, "manual").id
    done, _ = store.create_jobs([
        NewJob(rule_id=rule.id, endpoint_id=rule.endpoint_id, source_id=rule.source_id,
               repository="team/app", tag=tag, action="replicate", execution_id=execution)
        for tag in ("v1", "v2")])
    store.mark_running(done.id)
    store.mark_finished(done.id, JobStatus.SUCCEEDED)
    if what == "endpoint":
        other = store.create_endpoint(name="other", kind="registry", url="https://o.example")
        store.update_rule(rule.id, endpoint_id=other.id)
        [again] = store.create_jobs([NewJob(rule_id=rule.id, endpoint_id=other.id,
                                  source_id=rule.source_id, repository="team/app",
                                  tag="v2", action="replicate", execution_id=execution)])
        store.delete_endpoint(rule.endpoint_id)
    else:
        moved = store.create_source(name="other", kind="harbor", url="https://o.example")
        store.update_rule(rule.id, source_id=moved.id)
        [again] = store.create_jobs([NewJob(rule_id=rule.id, endpoint_id=rule.endpoint_id,
                                  source_id=moved.id, repository="team/app", tag="v2",
                                  action="replicate", execution_id=execution)])
        store.delete_source(rule.source_id)

    # when the old one is deleted with its jobs, then the execution counts what is left.
    assert [job.id for job in store.list_jobs(execution_id=execution)] == [again.id]
    assert store.execution_counts(execution) == store.recount_execution(execution)
    record = store.get_execution(execution)
    assert (record.status, record.total, record.succeeded) == (ExecutionStatus.PENDING, 1, 0)
