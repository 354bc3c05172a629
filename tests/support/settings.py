"""Settings for tests that run the pipeline (the local RabbitMQ under a queue
prefix of the test's own, a SQLite store in the test's directory, short retry
tiers and timeouts), and the clean-up of the queues they declare."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pika

from shared.broker import endpoint_topology
from shared.settings import Settings
from shared.store import generate_secret_key

AMQP_URL = os.environ.get("CROSSDOCK_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")

# The queue prefixes handed out since the last sweep (`tests.support.queue_sweep`).
handed_out: set[str] = set()


def pipeline_settings(tmp_path: Path, **changes: Any) -> Settings:
    """Fresh settings for one test; `changes` override any field."""
    values: dict[str, Any] = {
        "amqp_url": AMQP_URL + "?heartbeat=5",
        "queue_prefix": f"crossdock-test-{uuid.uuid4().hex[:8]}",
        "retry_delays": (1, 2),
        "max_attempts": 3,
        "consumer_concurrency": 2,
        "consumer_metrics_port": 0,
        "database_url": f"sqlite:///{tmp_path / 'crossdock.db'}",
        "secret_key": generate_secret_key(),
        "blob_workers": 4,
        "connect_timeout": 2.0,
        "read_timeout": 20.0,
        "defer_seconds": 1,
        "settle_seconds": 10,
        "lease_ttl": 10.0,  # a killed consumer's lease expires soon
    }
    values.update(changes)
    handed_out.add(str(values["queue_prefix"]))
    return Settings(**values)


def delete_queues(names: Iterable[str]) -> None:
    """Delete these queues on the test broker (missing ones are fine)."""
    wanted = sorted(set(names))
    if not wanted:
        return
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        channel = connection.channel()
        for name in wanted:
            channel.queue_delete(name)
    finally:
        connection.close()


def delete_endpoint_queues(settings: Settings, endpoints: Iterable[str]) -> None:
    """Delete every queue of `endpoints` under the settings' prefix."""
    delete_queues(spec.name for endpoint in endpoints
                  for spec in endpoint_topology(settings, endpoint))


def delete_prefixed_queues(prefix: str) -> None:
    """Delete every queue whose name starts with ``<prefix>.`` (asks rabbitmqctl)."""
    listed = subprocess.run(["rabbitmqctl", "list_queues", "-q", "--no-table-headers", "name"],
                            capture_output=True, text=True, timeout=60, check=False)
    delete_queues(name for name in listed.stdout.split() if name.startswith(prefix + "."))
