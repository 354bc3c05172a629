"""A tiny local HTTP server that records every request it gets.

Used as a stand-in registry (to see which headers a client sent) and as a
notification listener for a real `docker-registry` (to see the events it sent).
It answers 200 with ``{}``, or a redirect for paths listed in `redirects`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Recorded:
    """One request as received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class HTTPRecorder:
    """Serve on a free 127.0.0.1 port in a thread; `stop()` shuts it down."""

    def __init__(self, redirects: Mapping[str, str] | None = None) -> None:
        self.redirects = dict(redirects or {})
        self._recorded: list[Recorded] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="http-recorder", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> HTTPRecorder:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

    def __enter__(self) -> HTTPRecorder:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def recorded(self) -> list[Recorded]:
        with self._lock:
            return list(self._recorded)

    def wait_for(self, predicate: Callable[[list[Recorded]], bool], timeout: float = 15.0,
                 what: str = "the expected requests") -> list[Recorded]:
        """Poll until `predicate(recorded)` holds; AssertionError after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            recorded = self.recorded
            if predicate(recorded):
                return recorded
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; got {recorded}")
            time.sleep(0.05)

    def _record(self, entry: Recorded) -> None:
        with self._lock:
            self._recorded.append(entry)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _body(self) -> bytes:
                """The whole body, by Content-Length or chunked (on a kept-alive
                connection, what is left unread would be taken for the next request)."""
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";", 1)[0].strip(), 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass  # trailers
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()  # the CRLF after each chunk
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _any(self) -> None:
                body = self._body()
                recorder._record(Recorded(self.command, self.path, dict(self.headers), body))
                target = recorder.redirects.get(self.path)
                payload = b"" if self.command == "HEAD" else b"{}"
                self.send_response(307 if target else 200)
                if target:
                    self.send_header("Location", target)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(b"{}")))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _any

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
