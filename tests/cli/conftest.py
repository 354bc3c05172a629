"""Fixtures for the operator commands: a live receiver to talk to, and ways to run
`crossdock` against it.

- `live_api`: the receiver app with a real SQLite store and a real RabbitMQ
  publisher (a queue prefix of its own), served by werkzeug in a thread, logging
  to ``receiver.log`` under `tmp_path`. At teardown the server stops and every
  queue the publisher declared is deleted.
- `operator`: runs ``crossdock ...`` in-process through click's `CliRunner`.
- `console`: runs the real ``crossdock`` console script in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import structlog
from click.testing import CliRunner, Result
from werkzeug.serving import make_server

import cli.main
from receiver.app import create_app
from shared.settings import Settings
from shared.store import Store, generate_secret_key, open_store
from tests.support.publishers import RecordingPublisher
from tests.support.settings import AMQP_URL, delete_endpoint_queues

ADMIN_TOKEN = "cli-test-admin-token-0123456789"
CROSSDOCK = str(Path(sys.executable).with_name("crossdock"))


@dataclass(frozen=True)
class LiveApi:
    url: str  # http://127.0.0.1:PORT
    store: Store

    @property
    def env(self) -> dict[str, str]:
        """What an operator exports to reach this receiver."""
        return {"CROSSDOCK_API_URL": self.url, "CROSSDOCK_ADMIN_TOKEN": ADMIN_TOKEN}


@pytest.fixture
def live_api(tmp_path: Path) -> Iterator[LiveApi]:
    settings = Settings(
        amqp_url=AMQP_URL + "?heartbeat=5",
        queue_prefix=f"crossdock-clitest-{uuid.uuid4().hex[:8]}",
        database_url=f"sqlite:///{tmp_path / 'crossdock.db'}",
        secret_key=generate_secret_key(),
        admin_token=ADMIN_TOKEN,
    )
    # The receiver shares this process's structlog with the commands run in-process:
    # its lines go to a file, not into the output a test reads.
    log_file = (tmp_path / "receiver.log").open("w", encoding="utf-8")
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(log_file))
    store = open_store(settings)
    publisher = RecordingPublisher(settings, name="test-cli")
    app = create_app(settings, store=store, publisher=publisher)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="cli-test-api", daemon=True)
    thread.start()
    try:
        yield LiveApi(f"http://127.0.0.1:{server.server_port}", store)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
        publisher.close()
        endpoints = publisher.endpoints | {e.name for e in store.list_endpoints()}
        delete_endpoint_queues(settings, sorted(endpoints))
        store.close()
        structlog.reset_defaults()
        log_file.close()


Operator = Callable[..., Result]


@pytest.fixture
def operator(live_api: LiveApi, monkeypatch: pytest.MonkeyPatch) -> Operator:
    """``operator("endpoints", "list", input=..., env=...)``: `crossdock` in-process.

    The root group's logging set-up is skipped: it would point structlog, which the
    receiver in this process shares, at the runner's short-lived stderr.
    """
    monkeypatch.setattr(cli.main, "configure_logging", lambda settings: None)
    runner = CliRunner()

    def run(*args: str, input: str | None = None,
            env: dict[str, str | None] | None = None) -> Result:
        merged: dict[str, str | None] = {**live_api.env, "CROSSDOCK_CONFIG": None,
                                         **(env or {})}
        return runner.invoke(cli.main.cli, list(args), input=input, env=merged,
                             prog_name="crossdock", catch_exceptions=False)

    return run


Console = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def console() -> Console:
    """``console(env, "endpoints", "list")``: the real console script, in a subprocess."""

    def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("CROSSDOCK_")}
        return subprocess.run([CROSSDOCK, *args], capture_output=True, text=True, timeout=60,
                              env={**clean, **env})

    return run
