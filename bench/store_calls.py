"""What the store calls of one replicate job cost, alone (issue #12).

Replays, job after job on one thread, the store calls a consumer makes for a job of
an initial sync, with the arguments it passes: read the job's setting, ask for a
newer job, take the repository's lease, start the run (with its first log line),
ask for a newer job again, record its inventory entry, finish it with its log
lines, and let the lease go. No registry, no broker, no other thread: the figure is the store's
own CPU per call, which `bench/job_costs.py` counts in statements and transactions.

    .venv/bin/python bench/store_calls.py --jobs 2000
    .venv/bin/python bench/store_calls.py --database-url postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import collections
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

import _common  # noqa: F401  (puts the repository on the path)

from consumers.joblog import JobLog
from shared.settings import Settings
from shared.store import (
    JobAction,
    JobStatus,
    NewJob,
    Store,
    generate_secret_key,
    open_store,
    repository_lease_key,
)
from tests.support.cluster_pipeline import postgres_database


class Timings:
    """CPU and wall seconds per call name."""

    def __init__(self) -> None:
        self.cpu: collections.Counter[str] = collections.Counter()
        self.wall: collections.Counter[str] = collections.Counter()
        self.calls: collections.Counter[str] = collections.Counter()

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            yield
        finally:
            self.cpu[name] += time.thread_time() - cpu
            self.wall[name] += time.perf_counter() - wall
            self.calls[name] += 1


def replay(store: Store, jobs: int, timings: Timings) -> None:
    """Create an execution of `jobs` replicate jobs and run each through the store."""
    run_id = uuid.uuid4().hex[:6]
    source = store.create_source(name=f"src-{run_id}", kind="distribution",
                                 url="http://127.0.0.1:9")
    endpoint = store.create_endpoint(name=f"ep-{run_id}", kind="registry",
                                     url="http://127.0.0.1:10")
    rule = store.create_rule(name=f"rule-{run_id}", source_id=source.id,
                             endpoint_id=endpoint.id, project="lib")
    execution = store.create_execution(rule.id, "initial")
    specs = [NewJob(rule_id=rule.id, endpoint_id=endpoint.id, source_id=source.id,
                    repository=f"lib/app-{n:05d}", tag="v1", action=JobAction.REPLICATE,
                    execution_id=execution.id) for n in range(jobs)]
    created = store.create_jobs(specs)
    store.mark_queued([job.id for job in created])
    digest = "sha256:" + "ab" * 32
    for record in created:
        job_log = JobLog(record.id, store.now)
        with timings.timed("job_setting"):
            setting = store.job_setting(record.id)
        job = setting.job
        with timings.timed("newer_job (prepare)"):
            store.newer_job(job)
        holder = f"run-{job.id}-bench"
        key = repository_lease_key(endpoint.id, job.repository)
        with timings.timed("try_acquire_lease"):
            store.try_acquire_lease(key, holder, 60.0)
        job_log("info", f"attempt 1 started on bench as {holder}")
        with timings.timed("start_run"):
            store.start_run(job.id, 1, job_log.take())
        with timings.timed("newer_job (run)"):
            store.newer_job(job)
        job_log("info", "copied 2 blobs, manifest last")
        job_log("info", "succeeded")
        with timings.timed("record_inventory"):
            store.record_inventory(rule.id, job.repository, "v1", job.repository, digest)
        with timings.timed("mark_finished"):
            store.mark_finished(job.id, JobStatus.SUCCEEDED, None, lines=job_log.take())
        with timings.timed("release_lease"):
            store.release_lease(key, holder)


def report(timings: Timings, jobs: int) -> None:
    print(f"{jobs} jobs; per call, ms (CPU of this thread / wall):")
    total_cpu = total_wall = 0.0
    for name in timings.calls:
        calls = timings.calls[name]
        cpu, wall = timings.cpu[name] / calls * 1e3, timings.wall[name] / calls * 1e3
        total_cpu += timings.cpu[name] / jobs * 1e3
        total_wall += timings.wall[name] / jobs * 1e3
        print(f"  {name:22s} {cpu:7.3f} {wall:7.3f}")
    print(f"  {'per job, all calls':22s} {total_cpu:7.3f} {total_wall:7.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--database-url", default="",
                        help="default: SQLite in a temporary directory")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="crossdock-store-calls-"))
    timings = Timings()
    try:
        with scratch_database(args.database_url, workdir) as url:
            store = open_store(Settings(database_url=url, secret_key=generate_secret_key(),
                                        log_level="warning"))
            try:
                replay(store, args.jobs, timings)
            finally:
                store.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report(timings, args.jobs)


def scratch_database(server_url: str, workdir: Path) -> AbstractContextManager[str]:
    """A database of its own for the run: a SQLite file in `workdir`, or a new database
    on the PostgreSQL server of `server_url`, dropped at the end."""
    if not server_url:
        return nullcontext(f"sqlite:///{workdir / 'crossdock.db'}")
    return postgres_database(server_url)


if __name__ == "__main__":
    main()

