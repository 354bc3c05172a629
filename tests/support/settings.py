"""Settings for tests that run the pipeline: the local RabbitMQ under a queue
prefix of the test's own, a SQLite store in the test's directory, short retry
tiers and timeouts."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from shared.settings import Settings
from shared.store import generate_secret_key

AMQP_URL = os.environ.get("CROSSDOCK_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


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
    }
    values.update(changes)
    return Settings(**values)
