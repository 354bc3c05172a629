"""Pages by key: ``before=<id>`` lists the records older than that one, newest first,
and an execution's jobs page through an index, not a sort of all of them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from shared.store import ExecutionStatus, ExecutionTrigger, JobStatus, RuleRecord, Store
from tests.store.test_store_jobs import record


def ids(records: list[Any]) -> list[int]:
    return [r.id for r in records]


def test_jobs_page_by_key(store: Store, rule: RuleRecord) -> None:
    execution = store.create_execution(rule.id, ExecutionTrigger.MANUAL)
    jobs = record(store, rule, 5, execution=execution)
    other = record(store, rule, 2)  # newer, in no execution
    store.mark_finished(jobs[3].id, JobStatus.FAILED, "boom")
    store.mark_finished(jobs[1].id, JobStatus.FAILED, "boom")

    newest_first = ids(other[::-1] + jobs[::-1])
    assert ids(store.list_jobs(limit=3)) == newest_first[:3]
    assert ids(store.list_jobs(limit=3, before=newest_first[2])) == newest_first[3:6]
    assert ids(store.list_jobs(before=jobs[0].id)) == []
    assert ids(store.list_jobs(execution_id=execution.id, before=jobs[3].id)) == ids(
        jobs[2::-1])
    assert ids(store.list_jobs(execution_id=execution.id, status=JobStatus.FAILED,
                               before=jobs[3].id)) == [jobs[1].id]
    # A record added meanwhile does not shift the next page (an offset would).
    record(store, rule, 1)
    assert ids(store.list_jobs(limit=3, before=newest_first[2])) == newest_first[3:6]


def test_executions_page_by_key(store: Store, rule: RuleRecord) -> None:
    made = [store.create_execution(rule.id, ExecutionTrigger.MANUAL) for _ in range(4)]

    assert ids(store.list_executions(before=made[2].id)) == [made[1].id, made[0].id]
    assert ids(store.list_executions(rule_id=rule.id, limit=1, before=made[1].id)) == [
        made[0].id]


def test_the_latest_execution_of_each_rule(store: Store, rule: RuleRecord) -> None:
    idle = store.create_rule(name="idle", source_id=rule.source_id, project="idle",
                             endpoint_id=rule.endpoint_id)
    other = store.create_rule(name="other", source_id=rule.source_id, project="other",
                              endpoint_id=rule.endpoint_id)
    store.create_execution(rule.id, ExecutionTrigger.INITIAL)
    latest = store.create_execution(rule.id, ExecutionTrigger.MANUAL)
    others = store.create_execution(other.id, ExecutionTrigger.INITIAL)

    assert store.latest_executions() == {rule.id: latest, other.id: others}
    assert store.latest_executions([rule.id, idle.id]) == {rule.id: latest}
    assert store.latest_executions([]) == {}


@contextmanager
def statements(store: Store) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements the store sends inside the block, with their parameters."""
    sent: list[tuple[str, Any]] = []

    def remember(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        sent.append((statement, parameters))

    event.listen(store._engine, "before_cursor_execute", remember)
    try:
        yield sent
    finally:
        event.remove(store._engine, "before_cursor_execute", remember)


def plan(store: Store, call: Callable[[], object]) -> str:
    """The query plan of the last statement `call` sends. PostgreSQL is told to avoid
    sorts and sequential scans where it can, so a tiny table shows the indexes the
    query could use."""
    with statements(store) as sent:
        call()
    statement, parameters = sent[-1]
    sqlite = store._engine.dialect.name == "sqlite"
    with store._engine.connect() as conn:
        if not sqlite:
            conn.exec_driver_sql("SET enable_seqscan = off")
            conn.exec_driver_sql("SET enable_sort = off")
        rows = conn.exec_driver_sql(
            ("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + statement, parameters).all()
        conn.rollback()
    return "\n".join(str(row[-1] if sqlite else row[0]) for row in rows)


def test_an_executions_jobs_page_through_an_index(store: Store, rule: RuleRecord) -> None:
    execution = store.create_execution(rule.id, ExecutionTrigger.MANUAL)
    jobs = record(store, rule, 3, execution=execution)

    for status in (None, JobStatus.PENDING):
        shown = plan(store, lambda status=status: store.list_jobs(  # type: ignore[misc]
            execution_id=execution.id, status=status, before=jobs[-1].id, limit=11))
        assert "ix_jobs_execution_id" in shown, shown
        assert "TEMP B-TREE" not in shown and "Sort" not in shown, shown


def test_an_execution_says_what_is_left_and_whether_it_finished(store: Store,
                                                                rule: RuleRecord) -> None:
    execution = store.create_execution(rule.id, ExecutionTrigger.MANUAL)
    jobs = record(store, rule, 3, execution=execution)
    store.mark_finished(jobs[0].id, JobStatus.SUCCEEDED)
    running = store.get_execution(execution.id)
    for job in jobs[1:]:
        store.mark_finished(job.id, JobStatus.FAILED, "boom")
    done = store.get_execution(execution.id)

    assert (running.in_progress, running.status.finished) == (2, False)
    assert (done.in_progress, done.status, done.status.finished) == (
        0, ExecutionStatus.PARTIAL, True)


def test_a_sources_projects_are_summed_up_in_the_store(store: Store, rule: RuleRecord) -> None:
    same = store.create_rule(name="same-project", source_id=rule.source_id,
                             project=rule.project, endpoint_id=rule.endpoint_id)
    idle = store.create_rule(name="idle", source_id=rule.source_id, project="idle",
                             endpoint_id=rule.endpoint_id)
    store.create_execution(rule.id, ExecutionTrigger.INITIAL)
    newest = store.create_execution(same.id, ExecutionTrigger.MANUAL)
    store.create_execution(rule.id, ExecutionTrigger.MANUAL)
    last = store.create_execution(rule.id, ExecutionTrigger.SCHEDULED)

    assert store.project_summaries(rule.source_id) == {rule.project: (2, last.id),
                                                       idle.project: (1, None)}
    assert store.project_summaries(rule.source_id + 1000) == {}
    assert store.executions_by_id([last.id, newest.id, 10**9]) == {last.id: last,
                                                                  newest.id: newest}


def test_rule_names_by_id(store: Store, rule: RuleRecord) -> None:
    other = store.create_rule(name="other", source_id=rule.source_id, project="other",
                              endpoint_id=rule.endpoint_id)
    assert store.rule_names([rule.id, other.id, rule.id, 10**9]) == {
        rule.id: rule.name, other.id: "other"}
    assert store.rule_names([]) == {}
