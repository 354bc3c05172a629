"""Scheduled resyncs: a rule with a cron `schedule` gets a fresh execution
whenever its next run time has passed, catching what notifications missed.

Every receiver process runs a `Scheduler` thread, but only the one holding the
store's scheduler lease acts, so each run starts exactly once however many
processes there are. A run is due when the schedule's next time after the
rule's latest execution (any trigger: a manual run counts) has passed; missed
runs are not replayed one by one.

The same lease holder sweeps: a job still pending, never confirmed by RabbitMQ,
`republish_after` seconds after it was recorded (or reset for a retry) lost its
publish (a receiver killed between recording and publishing). It is published
again, logged and counted; one that fails stays for the next round. A duplicate
is harmless: the consumer drops a message for a finished job.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

import structlog

from receiver.metrics import ReceiverMetrics
from shared.cron import CronSyntaxError, next_after
from shared.dispatch import OnFailure, PublishJobs, publish_recorded, start_execution
from shared.errors import CrossdockError
from shared.store import SCHEDULER_LEASE_KEY, RuleRecord, Store

TICK_SECONDS = 15.0
LEASE_SECONDS = 60.0
REPUBLISH_AFTER_SECONDS = 120.0

log = structlog.get_logger("crossdock.scheduler")


def due(rule: RuleRecord, last_run: datetime | None, now: datetime) -> bool:
    """Whether `rule`'s schedule has fired since its last run (or since it changed)."""
    if not rule.enabled or not rule.schedule:
        return False
    baseline = max(filter(None, (last_run, rule.updated_at)))
    try:
        upcoming = next_after(rule.schedule, baseline)
    except CronSyntaxError:
        return False
    return upcoming is not None and upcoming <= now


def due_rules(
    rules: Iterable[RuleRecord], last_run: Callable[[int], datetime | None], now: datetime
) -> list[RuleRecord]:
    return [rule for rule in rules if due(rule, last_run(rule.id), now)]


class Scheduler:
    """The background thread; `tick()` does one round and is what tests call."""

    def __init__(self, store: Store, publish: PublishJobs, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 tick_seconds: float = TICK_SECONDS,
                 republish_after: float = REPUBLISH_AFTER_SECONDS,
                 metrics: ReceiverMetrics | None = None) -> None:
        self._store = store
        self._publish = publish
        self._republish_after = timedelta(seconds=republish_after)
        self._metrics = metrics
        self._clock = clock
        self._tick_seconds = tick_seconds
        self._holder = f"scheduler@{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _loop(self) -> None:
        while not self._stop.wait(self._tick_seconds):
            try:
                self.tick()
            except CrossdockError as exc:
                log.warning("scheduler round failed", error=str(exc))

    def tick(self) -> list[int]:
        """One round: if this process holds the lease, publish the jobs that lost their
        publish again, then start every due run. Returns the execution ids started."""
        if not self._store.try_acquire_lease(SCHEDULER_LEASE_KEY, self._holder, LEASE_SECONDS):
            return []
        now = self._clock()
        try:
            self.sweep(now)
        except CrossdockError as exc:  # the scheduled runs still get their turn
            log.warning("sweep failed, the jobs stay for the next round", error=str(exc))
        started = []
        for rule in due_rules(self._store.list_rules(enabled=True), self._last_run, now):
            execution, _job = start_execution(self._store, self._publish, rule, "scheduled")
            log.info("scheduled resync started", rule=rule.name, rule_id=rule.id,
                     execution_id=execution.id, schedule=rule.schedule)
            started.append(execution.id)
        return started

    def sweep(self, now: datetime) -> list[int]:
        """Publish again the pending jobs never queued since before `now` minus
        `republish_after` (call it holding the lease). Returns their ids.

        Raises the store's errors and the publisher's (the jobs then stay pending).
        """
        jobs = self._store.unqueued_jobs(now - self._republish_after)
        for job in jobs:
            log.warning("job never queued, publishing it again", job_id=job.id,
                        rule_id=job.rule_id, repository=job.repository,
                        pending_since=job.updated_at.isoformat())
        if jobs:
            publish_recorded(self._store, self._publish, jobs, on_failure=OnFailure.KEEP)
            if self._metrics is not None:
                self._metrics.republished.inc(len(jobs))
        return [job.id for job in jobs]

    def _last_run(self, rule_id: int) -> datetime | None:
        latest = self._store.list_executions(rule_id=rule_id, limit=1)
        return latest[0].started_at if latest else None
