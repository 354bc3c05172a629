"""`bench/store_calls.py` replays what a consumer asks the store for one job: every job
it replays ends succeeded, with its inventory entry, its log and no lease left."""

from __future__ import annotations

from pathlib import Path

from shared.settings import Settings
from shared.store import (
    ExecutionStatus,
    JobStatus,
    Store,
    generate_secret_key,
    open_store,
    repository_lease_key,
)
from tests.support.bench_scripts import load_bench


def test_each_replayed_job_goes_through_the_store_as_a_consumers_would(tmp_path: Path) -> None:
    bench = load_bench("store_calls")
    timings = bench.Timings()
    store = open_store(Settings(database_url=f"sqlite:///{tmp_path / 'crossdock.db'}",
                                secret_key=generate_secret_key()))
    try:
        bench.replay(store, 5, timings)
        check_replayed(store)
    finally:
        store.close()
    assert set(timings.calls.values()) == {5}


def check_replayed(store: Store) -> None:
    [execution] = store.list_executions()
    assert execution.status == ExecutionStatus.SUCCEEDED
    assert execution.succeeded == 5
    jobs = store.list_jobs(execution_id=execution.id)
    assert {job.status for job in jobs} == {JobStatus.SUCCEEDED}
    assert len(store.list_inventory(execution.rule_id)) == 5
    for job in jobs:
        assert [line.message for line in store.job_log(job.id)][-1] == "succeeded"
        assert store.lease_holder(repository_lease_key(job.endpoint_id, job.repository)) is None
