"""Fixtures for the Harbor fake's tests: the fake, sessions, a webhook listener."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import pytest
import requests

from tests.support.harbor import HarborFake
from tests.support.harbor.client import bearer_session, cookieless_session
from tests.support.harbor_fixtures import HARBOR_ADMIN, harbor

__all__ = ["harbor"]  # the fixture, imported so pytest finds it here


@dataclass(frozen=True)
class Received:
    """One webhook POST as the listener saw it."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Listener:
    """A local HTTP endpoint that answers with scripted statuses (then 200)."""

    url: str
    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def next_status(self) -> int:
        with self.changed:
            return self.statuses.pop(0) if self.statuses else 200

    def record(self, item: Received) -> None:
        with self.changed:
            self.received.append(item)
            self.changed.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(self.received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{len(self.received)} of {count} webhooks arrived")
                self.changed.wait(remaining)
            return list(self.received)


class _ListenerServer(ThreadingHTTPServer):
    daemon_threads = True
    listener: Listener


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        listener = cast(_ListenerServer, self.server).listener
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status = listener.next_status()
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()
        listener.record(Received(self.path, dict(self.headers.items()), json.loads(raw)))

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def listener() -> Iterator[Listener]:
    """A webhook receiver on a free port; set `.statuses` to script failures."""
    server = _ListenerServer(("127.0.0.1", 0), _Handler)
    host, port = server.server_address[:2]
    server.listener = Listener(f"http://{host!s}:{port}/hook")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server.listener
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def api() -> Iterator[requests.Session]:
    """A cookieless session without credentials, for `/api/v2.0` calls."""
    with cookieless_session() as session:
        yield session


@pytest.fixture
def admin_v2(harbor: HarborFake) -> Iterator[requests.Session]:
    """A Bearer session for `lib/app` as admin, after creating the private project `lib`."""
    harbor.create_project("lib")
    with bearer_session(harbor.url, *HARBOR_ADMIN, "lib/app") as session:
        yield session
