"""Job logs written in batches: a line costs no store round trip of its own.

A copy says a line for every blob and every step. Each line used to be one write
transaction, which on SQLite also meant a turn at the one write lock: more store
time per job than the job's own state changes. Lines are now kept back per run
(`JobLog`) with the time they were said, and written either with the run's next
state change (`JobLogs.writing`: the same transaction, before it) or by the
writer thread, every `interval` seconds, for all runs in one transaction. A line
therefore shows in the job's log at most about `interval` seconds late, and always
before the state change that follows it.

A run's lines go to the store in the order said: a write takes the run's lock
and then its pending lines, so that two writes of one run never overtake each other.
Lines whose write failed (the store unreachable) go back to the front and are
written with the next one. A process killed in between loses at most `interval`
seconds of lines of runs that were not recorded anyway (the job's next run says
its previous attempt did not finish).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

import structlog

from shared.errors import CrossdockError
from shared.store import LogLevel, NewLogLine, Store

FLUSH_SECONDS = 1.0

log = structlog.get_logger("crossdock.consumer")


class JobLog:
    """One run's log: ``job_log(level, message)``, callable from any thread."""

    def __init__(self, job_id: int, clock: Callable[[], datetime]) -> None:
        self.job_id = job_id
        self._clock = clock
        self._lines: list[NewLogLine] = []
        self._lock = threading.Lock()  # the pending lines
        self.writing = threading.Lock()  # held while this run's lines go to the store

    def __call__(self, level: str, message: str) -> None:
        line = NewLogLine(self.job_id, self._clock(), LogLevel(level), message)
        with self._lock:
            self._lines.append(line)

    def take(self) -> list[NewLogLine]:
        """The pending lines, oldest first; they are no longer pending."""
        with self._lock:
            lines, self._lines = self._lines, []
        return lines

    def put_back(self, lines: list[NewLogLine]) -> None:
        """Lines whose write failed: pending again, before any said since."""
        with self._lock:
            self._lines[:0] = lines


class JobLogs:
    """The logs of this process's runs, and the thread that writes them."""

    def __init__(self, store: Store, stopping: threading.Event,
                 interval: float | None = None) -> None:
        self._store = store
        self._stopping = stopping
        self._interval = FLUSH_SECONDS if interval is None else interval
        self._open: dict[int, JobLog] = {}  # by id(): several runs of one job may overlap
        self._lock = threading.Lock()
        self._writer = threading.Thread(target=self._write_loop, name="job-log-writer",
                                        daemon=True)
        self._writer.start()

    def open(self, job_id: int) -> JobLog:
        """A new run's log, written by the writer thread until `close`."""
        job_log = JobLog(job_id, self._store.now)
        with self._lock:
            self._open[id(job_log)] = job_log
        return job_log

    def close(self, job_log: JobLog) -> None:
        """The run ended: write what it still has, then forget it."""
        with self._lock:
            self._open.pop(id(job_log), None)
        self.flush([job_log])

    @contextmanager
    def writing(self, job_log: JobLog) -> Iterator[list[NewLogLine]]:
        """The run's pending lines, for a state change to write first in its own
        transaction; put back if that raises."""
        with job_log.writing:
            lines = job_log.take()
            try:
                yield lines
            except BaseException:
                job_log.put_back(lines)
                raise

    def flush(self, logs: list[JobLog] | None = None) -> None:
        """Write the pending lines of `logs` (default: every open run's) in one
        transaction. A failure is logged and the lines stay pending."""
        if logs is None:
            with self._lock:
                logs = list(self._open.values())
        held = []
        try:
            for job_log in logs:  # one order for every caller: no two wait on each other
                job_log.writing.acquire()
                held.append(job_log)
            taken = [(job_log, job_log.take()) for job_log in held]
            lines = [line for _job_log, pending in taken for line in pending]
            if not lines:
                return
            try:
                self._store.append_logs(lines)
            except CrossdockError as exc:
                for job_log, pending in taken:
                    job_log.put_back(pending)
                log.warning("could not write job log lines, keeping them", lines=len(lines),
                            error=str(exc))
        finally:
            for job_log in held:
                job_log.writing.release()

    def _write_loop(self) -> None:
        while not self._stopping.wait(self._interval):
            self.flush()
        self.flush()
