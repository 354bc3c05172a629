"""Fixtures for the tests against the real RabbitMQ (``make test`` provides it).

Every run uses its own queue prefix and every test its own endpoint names, and
each test deletes the queues it declared, so runs never collide with each other
or with anyone else's queues on the same broker.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import count
from typing import Any

import pika
import pytest

from shared.broker import Worker, endpoint_topology
from shared.settings import Settings
from tests.support.settings import delete_prefixed_queues

AMQP_URL = os.environ.get("CROSSDOCK_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
RUN_PREFIX = f"crossdock-test-{uuid.uuid4().hex[:8]}"


class Broker:
    """Settings and raw-AMQP helpers for one test; remembers what to delete."""

    def __init__(self) -> None:
        self._names = count(1)
        self._queues: set[str] = set()
        self._conn: Any = None

    def endpoint(self) -> str:
        return f"ep{next(self._names)}-{uuid.uuid4().hex[:4]}"

    def settings(self, endpoints: tuple[str, ...] = (), **changes: Any) -> Settings:
        """Test settings (1 s and 2 s tiers, 1 s heartbeat); `endpoints` get cleaned up."""
        values: dict[str, Any] = {
            "amqp_url": AMQP_URL + "?heartbeat=1",
            "queue_prefix": RUN_PREFIX,
            "retry_delays": (1, 2),
            "max_attempts": 3,
            "consumer_concurrency": 2,
        }
        values.update(changes)
        settings = Settings(**values)
        for endpoint in endpoints:
            self.track(settings, endpoint)
        return settings

    def track(self, settings: Settings, endpoint: str) -> None:
        self._queues.update(spec.name for spec in endpoint_topology(settings, endpoint))

    def track_queue(self, name: str) -> None:
        self._queues.add(name)

    @property
    def connection(self) -> Any:
        if self._conn is None or not self._conn.is_open:
            self._conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        return self._conn

    def channel(self) -> Any:
        return self.connection.channel()

    def get(self, name: str, timeout: float = 5.0) -> tuple[Any, Any, bytes]:
        """The next message of queue `name` (acked), waiting up to `timeout` seconds."""
        channel = self.channel()
        deadline = time.monotonic() + timeout
        try:
            while True:
                method, properties, body = channel.basic_get(name, auto_ack=True)
                if method is not None:
                    return method, properties, body
                if time.monotonic() > deadline:
                    raise AssertionError(f"no message in {name} after {timeout} s")
                self.connection.sleep(0.05)
        finally:
            channel.close()

    def exists(self, name: str) -> bool:
        channel = self.channel()
        try:
            channel.queue_declare(name, passive=True)
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code == 404:
                return False
            raise
        channel.close()
        return True

    def consumers(self, name: str) -> int:
        channel = self.channel()
        try:
            return int(channel.queue_declare(name, passive=True).method.consumer_count)
        finally:
            channel.close()

    def depth(self, name: str) -> int:
        channel = self.channel()
        try:
            return int(channel.queue_declare(name, passive=True).method.message_count)
        finally:
            channel.close()

    # Helpers for the tests (fixtures are the only way in: conftest is not imported).
    amqp_url = AMQP_URL

    def recorder(self, *outcomes: Any) -> Recorder:
        return Recorder(*outcomes)

    def running(self, worker: Worker, join_timeout: float = 15.0) -> Any:
        return running(worker, join_timeout)

    @staticmethod
    def wait_for(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "it") -> None:
        wait_for(predicate, timeout, what)

    def job(self, endpoint: str, job_id: int = 1, **changes: Any) -> Any:
        return make_job(endpoint, job_id, **changes)

    @staticmethod
    def close_connections(name: str) -> int:
        """Have RabbitMQ close (320 CONNECTION_FORCED) the connections called `name`."""
        listed = subprocess.run(
            ["rabbitmqctl", "list_connections", "-q", "--no-table-headers", "pid",
             "client_properties"],
            capture_output=True, text=True, timeout=30, check=True,
        )
        pids = [line.split("\t")[0] for line in listed.stdout.splitlines()
                if f'{{"connection_name","{name}"}}' in line]
        for pid in pids:
            subprocess.run(["rabbitmqctl", "close_connection", pid, "closed by test"],
                           capture_output=True, timeout=30, check=True)
        return len(pids)

    def cleanup(self) -> None:
        connection = self.connection
        channel = connection.channel()
        for name in sorted(self._queues):
            try:
                channel.queue_delete(name)
            except pika.exceptions.ChannelClosedByBroker:
                channel = connection.channel()
        connection.close()


@pytest.fixture
def broker() -> Iterator[Broker]:
    helper = Broker()
    yield helper
    helper.cleanup()


@pytest.fixture(scope="session", autouse=True)
def _sweep_leftovers() -> Iterator[None]:
    """Belt and braces: delete any queue of this run a failed test left behind."""
    yield
    if shutil.which("rabbitmqctl") is None:
        return
    delete_prefixed_queues(RUN_PREFIX)


@contextmanager
def running(worker: Worker, join_timeout: float = 15.0) -> Iterator[threading.Thread]:
    """Run `worker` in a thread; stop it and re-raise what `run()` raised on exit."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            worker.run()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, name="worker-under-test", daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        worker.stop()
        thread.join(join_timeout)
        assert not thread.is_alive(), "Worker.run() did not return after stop()"
        if errors:
            raise errors[0]


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class Recorder:
    """A handler that records deliveries and answers from a script of outcomes."""

    def __init__(self, *outcomes: Any) -> None:
        self.deliveries: queue.Queue[Any] = queue.Queue()
        self._outcomes = list(outcomes)

    def __call__(self, delivery: Any) -> Any:
        self.deliveries.put((time.monotonic(), delivery))
        outcome = self._outcomes.pop(0) if len(self._outcomes) > 1 else self._outcomes[0]
        if isinstance(outcome, BaseException):
            raise outcome
        if callable(outcome):
            return outcome(delivery)
        return outcome

    def next(self, timeout: float = 5.0) -> tuple[float, Any]:
        try:
            return self.deliveries.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no delivery within {timeout} s") from None


def make_job(endpoint: str, job_id: int = 1, **changes: Any) -> Any:
    from datetime import UTC, datetime

    from shared.messages import JobAction, JobMessage

    values: dict[str, Any] = {
        "job_id": job_id,
        "action": JobAction.REPLICATE,
        "rule_id": 1,
        "endpoint_id": 1,
        "endpoint": endpoint,
        "source_id": 1,
        "repository": "team/app",
        "tag": "v1",
        "created_at": datetime.now(UTC),
    }
    values.update(changes)
    return JobMessage(**values)
