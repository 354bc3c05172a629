"""An HTTP proxy in front of a registry that can make its manifest PUTs fail or wait.

`FaultProxy(target)` listens on a free 127.0.0.1 port and forwards every request to
`target` with `requests`, streaming bodies both ways and keeping the headers (hop-by-hop
ones aside). Distribution builds absolute `Location` URLs (upload sessions) from the
request's Host, which is the target's here, so those are rewritten to point back at
the proxy: an upload started through the proxy continues through it.

Two switches act on `PUT /v2/<name>/manifests/<reference>` only (blobs, HEADs, GETs
and DELETEs always pass):

- `fail_manifest_puts(seconds=None)`: answer 503 `UNAVAILABLE` without forwarding, for
  `seconds` or until `heal()`;
- `hold_manifest_puts()`: keep each such request waiting (its body read) until
  `heal()`, which forwards it, or `heal(drop_held=True)`, which answers 503 and lets
  nothing reach the registry (for a client killed while it waited).

A third acts on reads: `fail_reads(count)` answers the next `count` GETs and HEADs
500 `UNKNOWN`, as Distribution does to a read of a link file it is writing.

Every answered request is kept in `answered` as (method, path, status), and
`wait_for` polls it (or anything else) with a timeout.
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO

import requests

MANIFEST_PUT_PATH = re.compile(r"^/v2/.+/manifests/[^/?]+(\?.*)?$")
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
    "trailers", "transfer-encoding", "upgrade", "host", "content-length",
})
CHUNK = 64 * 1024
UNAVAILABLE = json.dumps({"errors": [{"code": "UNAVAILABLE",
                                      "message": "fault proxy: service unavailable",
                                      "detail": None}]}).encode()
UNKNOWN = json.dumps({"errors": [{"code": "UNKNOWN", "message": "unknown error",
                                  "detail": "fault proxy: a read while a link is written"}]}
                     ).encode()


@dataclass(frozen=True)
class Answered:
    """One request the proxy answered, and the status it gave."""

    method: str
    path: str
    status: int

    @property
    def is_manifest_put(self) -> bool:
        return self.method == "PUT" and bool(MANIFEST_PUT_PATH.match(self.path))


class _BoundedReader:
    """`length` bytes of a socket file, as a sized file-like body for `requests`."""

    def __init__(self, stream: BinaryIO, length: int) -> None:
        self._stream = stream
        self._left = length
        self._length = length

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        wanted = self._left if size is None or size < 0 else min(size, self._left)
        data = self._stream.read(wanted)
        self._left -= len(data)
        return data

    def drain(self) -> bytes:
        return self.read()


def _dechunk(stream: BinaryIO) -> Iterator[bytes]:
    """Decode a `Transfer-Encoding: chunked` request body."""
    while True:
        size_line = stream.readline()
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while stream.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return
        yield stream.read(size)
        stream.readline()  # the CRLF after each chunk


class FaultProxy:
    """A switchable HTTP proxy to `target` on a free loopback port (see the module doc)."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self._lock = threading.Lock()
        self._fail_until: float | None = None  # monotonic deadline; inf: until heal()
        self._holding = False
        self._gate = threading.Event()
        self._drop_held = False
        self._held = 0
        self._reads_to_fail = 0
        self._answered: list[Answered] = []
        self._server = _ProxyServer(self)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="fault-proxy", daemon=True)

    # -- life cycle --------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._server.server_port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.heal(drop_held=True)
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- switches ----------------------------------------------------------------------

    def fail_manifest_puts(self, seconds: float | None = None) -> None:
        """Answer 503 to manifest PUTs for `seconds`, or until `heal()`."""
        with self._lock:
            self._fail_until = (float("inf") if seconds is None
                                else time.monotonic() + seconds)

    def fail_reads(self, count: int) -> None:
        """Answer the next `count` GETs and HEADs 500 `UNKNOWN` without forwarding."""
        with self._lock:
            self._reads_to_fail = count

    def hold_manifest_puts(self) -> None:
        """Keep manifest PUTs waiting until `heal()`."""
        with self._lock:
            self._holding = True
            self._drop_held = False
            self._gate.clear()

    def heal(self, *, drop_held: bool = False) -> None:
        """Forward everything again; requests held so far are forwarded, or with
        `drop_held` answered 503 without reaching the registry."""
        with self._lock:
            self._fail_until = None
            self._holding = False
            self._drop_held = drop_held
            self._gate.set()

    # -- what happened -----------------------------------------------------------------

    @property
    def answered(self) -> list[Answered]:
        with self._lock:
            return list(self._answered)

    @property
    def held(self) -> int:
        """Manifest PUTs waiting right now."""
        with self._lock:
            return self._held

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 30.0,
                 what: str = "the expected requests") -> None:
        """Poll `predicate` until it holds; AssertionError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; answered: "
                                     f"{self.answered[-10:]}")
            time.sleep(0.05)

    # -- inside the handler ------------------------------------------------------------

    def _record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self._answered.append(Answered(method, path, status))

    def _fault(self, method: str, path: str) -> str | None:
        """"fail", "hold", "unknown" or None for this request, as the switches stand now."""
        if method in ("GET", "HEAD"):
            with self._lock:
                if self._reads_to_fail > 0:
                    self._reads_to_fail -= 1
                    return "unknown"
            return None
        if method != "PUT" or not MANIFEST_PUT_PATH.match(path):
            return None
        with self._lock:
            if self._fail_until is not None and time.monotonic() < self._fail_until:
                return "fail"
            if self._holding:
                self._held += 1
                return "hold"
        return None

    def _wait_released(self) -> bool:
        """Block a held request until `heal()`; True if it is to be forwarded."""
        self._gate.wait()
        with self._lock:
            self._held -= 1
            return not self._drop_held

    def _rewrite_location(self, value: str) -> str:
        if value.startswith(self.target):
            return self.url + value[len(self.target):]
        return value


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, proxy: FaultProxy) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.proxy = proxy

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away mid-answer (killed consumers do)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ProxyServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _body(self) -> _BoundedReader | Iterator[bytes] | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return _dechunk(self.rfile)
        length = int(self.headers.get("Content-Length") or 0)
        return _BoundedReader(self.rfile, length) if length else None

    def _any(self) -> None:
        proxy = self.server.proxy
        body = self._body()
        fault = proxy._fault(self.command, self.path)
        if fault == "unknown":
            self._answer(500, UNKNOWN)
            return
        if fault is not None:
            # Read the whole (small: a manifest) body first, so the connection stays usable.
            data = body.drain() if isinstance(body, _BoundedReader) else b"".join(body or [])
            if fault == "fail" or not proxy._wait_released():
                self._unavailable()
                return
            body = _BoundedReader(io.BytesIO(data), len(data)) if data else None
        self._forward(body)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _any

    def _unavailable(self) -> None:
        self._answer(503, UNAVAILABLE)

    def _answer(self, status: int, document: bytes) -> None:
        self.send_response_only(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(document)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(document)
        self.wfile.flush()
        self.server.proxy._record(self.command, self.path, status)

    def _forward(self, body: _BoundedReader | Iterator[bytes] | None) -> None:
        proxy = self.server.proxy
        headers = {name: value for name, value in self.headers.items()
                   if name.lower() not in HOP_BY_HOP}
        with requests.Session() as session:
            session.trust_env = False
            session.headers.clear()  # only the client's own headers go upstream
            upstream = session.request(self.command, proxy.target + self.path, headers=headers,
                                       data=body, stream=True, allow_redirects=False,
                                       timeout=(5, 120))
            with upstream:
                self.send_response_only(upstream.status_code)
                raw_headers = upstream.raw.headers
                for name, value in raw_headers.items():
                    if name.lower() in HOP_BY_HOP:
                        continue
                    if name.lower() == "location":
                        value = proxy._rewrite_location(value)
                    self.send_header(name, value)
                length = raw_headers.get("Content-Length")
                no_body = self.command == "HEAD" or upstream.status_code in (204, 304)
                if length is not None:
                    self.send_header("Content-Length", length)
                elif not no_body:
                    self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                if not no_body:
                    for chunk in upstream.raw.stream(CHUNK, decode_content=False):
                        if length is None:
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        else:
                            self.wfile.write(chunk)
                    if length is None:
                        self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
        proxy._record(self.command, self.path, upstream.status_code)
