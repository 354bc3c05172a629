"""A TCP listener that accepts connections and never says a word: a hung broker."""

from __future__ import annotations

import socket
import threading
from types import TracebackType


class SilentListener:
    """Listens on 127.0.0.1 (a free port), accepts, holds every connection open, never
    reads or writes. Use as a context manager, or call `close()`."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.1)
        self.port: int = self._server.getsockname()[1]
        self._held: list[socket.socket] = []
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="silent-listener", daemon=True)
        self._thread.start()

    def url(self, password: str = "guest") -> str:
        return f"amqp://guest:{password}@127.0.0.1:{self.port}/%2F"

    @property
    def accepted(self) -> int:
        return len(self._held)

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                connection, _address = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._held.append(connection)

    def close(self) -> None:
        self._closing.set()
        self._thread.join(2)
        self._server.close()
        for connection in self._held:
            connection.close()

    def __enter__(self) -> SilentListener:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
