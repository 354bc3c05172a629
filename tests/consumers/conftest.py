"""A crossdock pipeline for consumer tests: store, real RabbitMQ, real registries.

Each test gets its own queue prefix (queues deleted afterwards), its own SQLite
store, and consumers running in threads or as real `crossdock consumer`
processes.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from consumers.service import ConsumerService
from shared.broker import Publisher
from shared.dispatch import job_message
from shared.store import (
    EndpointRecord,
    JobRecord,
    NewJob,
    RuleRecord,
    SourceRecord,
    Store,
    open_store,
)
from tests.support.registry_server import RegistryServer
from tests.support.settings import delete_prefixed_queues, pipeline_settings

CROSSDOCK = str(Path(sys.executable).with_name("crossdock"))


class Pipeline:
    """Settings, store and helpers to record, publish and watch jobs."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.settings = pipeline_settings(tmp_path, chunk_size=8 * 1024 * 1024)
        self.store: Store = open_store(self.settings)
        self.publisher = Publisher(self.settings, name="test-publisher")
        self.services: list[tuple[ConsumerService, threading.Thread]] = []
        self.processes: list[subprocess.Popen[bytes]] = []

    # -- configuration -------------------------------------------------------------

    def source(self, server: RegistryServer, **fields: Any) -> SourceRecord:
        return self.store.create_source(name=f"src-{uuid.uuid4().hex[:6]}", kind="distribution",
                                        url=server.url, **{**_auth(server), **fields})

    def endpoint(self, server: RegistryServer, **fields: Any) -> EndpointRecord:
        return self.store.create_endpoint(name=f"ep-{uuid.uuid4().hex[:6]}",
                                          kind=fields.pop("kind", "registry"), url=server.url,
                                          **{**_auth(server), **fields})

    def rule(self, source: SourceRecord, endpoint: EndpointRecord, project: str = "lib",
             **fields: Any) -> RuleRecord:
        return self.store.create_rule(name=f"rule-{uuid.uuid4().hex[:6]}", source_id=source.id,
                                      endpoint_id=endpoint.id, project=project, **fields)

    # -- jobs ----------------------------------------------------------------------

    def jobs(self, rule: RuleRecord, *specs: dict[str, Any],
             execution_id: int | None = None) -> list[JobRecord]:
        """Record jobs (dicts of repository/action/tag/digest) for `rule` and publish them."""
        records = self.store.create_jobs([
            NewJob(rule_id=rule.id, endpoint_id=rule.endpoint_id, source_id=rule.source_id,
                   execution_id=execution_id, **spec) for spec in specs
        ])
        self.publish(records)
        return records

    def publish(self, records: list[JobRecord]) -> None:
        names = {e.id: e.name for e in self.store.list_endpoints()}
        self.publisher.publish_jobs([job_message(r, names[r.endpoint_id]) for r in records])

    def wait_finished(self, jobs: list[JobRecord], timeout: float = 30.0) -> list[JobRecord]:
        deadline = time.monotonic() + timeout
        while True:
            current = [self.store.get_job(job.id) for job in jobs]
            if all(job.status.finished for job in current):
                return current
            if time.monotonic() > deadline:
                states = {job.id: job.status.value for job in current}
                raise AssertionError(f"jobs not finished after {timeout} s: {states}")
            time.sleep(0.05)

    def log_text(self, job: JobRecord) -> str:
        return "\n".join(f"{line.level}: {line.message}" for line in self.store.job_log(job.id))

    # -- consumers -----------------------------------------------------------------

    def start_consumer(self, *endpoints: str, **changes: Any) -> ConsumerService:
        """A consumer in a thread of this process."""
        settings = self.settings.replace(**changes) if changes else self.settings
        service = ConsumerService(settings, self.store, endpoints, endpoint_poll_seconds=0.2)
        thread = threading.Thread(target=service.run, kwargs={"handle_signals": False},
                                  daemon=True)
        thread.start()
        self.services.append((service, thread))
        return service

    def spawn_consumer(self, *endpoints: str) -> subprocess.Popen[bytes]:
        """A real `crossdock consumer` process (log in tmp_path)."""
        config = self.tmp_path / "crossdock.yml"
        values = {k: list(v) if isinstance(v, tuple) else v
                  for k, v in self.settings.__dict__.items()}
        config.write_text(yaml.safe_dump({**values, "log_format": "json"}))
        argv = [CROSSDOCK, "--config", str(config), "consumer", "--metrics-port", "0"]
        for endpoint in endpoints:
            argv += ["--endpoint", endpoint]
        with (self.tmp_path / f"consumer-{len(self.processes)}.log").open("wb") as log:
            process = subprocess.Popen(argv, stdout=log, stderr=log)
        self.processes.append(process)
        return process

    def close(self) -> None:
        for service, _thread in self.services:
            service.stop()
        for _service, thread in self.services:
            thread.join(45)
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait(10)
        self.publisher.close()
        delete_prefixed_queues(self.settings.queue_prefix)
        self.store.close()


def _auth(server: RegistryServer) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if server.auth:
        fields.update(username=server.username, password=server.password)
    if server.ca_path:
        fields["ca_bundle"] = str(server.ca_path)
    return fields


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[Pipeline]:
    helper = Pipeline(tmp_path)
    yield helper
    helper.close()


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0, what: str = "it") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
