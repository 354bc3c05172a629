"""What ``/readyz`` checks, each within ``readyz_deadline_seconds``.

- every RabbitMQ node takes a probe publish (`shared.broker.probe_nodes`: a node
  with a memory or disk alarm accepts connections but blocks publishers);
- the store gives a write turn, through the same writer queue as real writes:
  one tiny write, renewing the ``readyz`` lease row;
- the receiver's own publisher is not blocked.

Ready when the store and at least one node are. Whatever has not answered by the
deadline counts as down; the store probe that is still running is waited for
again by the next request, never started twice.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from shared.broker import NodeStatus, Publisher, probe_nodes
from shared.errors import CrossdockError
from shared.settings import Settings
from shared.store import Store

READYZ_LEASE = "crossdock.readyz"  # a row of the leases table nobody else uses


@dataclass(frozen=True)
class Report:
    """The answer of ``/readyz``."""

    store: str  # "ok" or what went wrong
    nodes: list[NodeStatus]
    publisher_connected: bool
    publisher_blocked: bool

    @property
    def ready(self) -> bool:
        return (self.store == "ok" and any(node.ok for node in self.nodes)
                and not self.publisher_blocked)

    def broker(self) -> str:
        """"ok", or why no node takes publishes."""
        if self.publisher_blocked:
            return "blocked: RabbitMQ blocks this receiver's publishing (a memory or disk alarm)"
        if any(node.ok for node in self.nodes):
            return "ok"
        return "; ".join(str(node.error) for node in self.nodes) or "no RabbitMQ node configured"

    def as_json(self) -> dict[str, Any]:
        return {
            "status": "ready" if self.ready else "unavailable",
            "checks": {"store": self.store, "broker": self.broker()},
            "nodes": [{"url": node.url, "status": node.state,
                       "error": None if node.error is None else str(node.error)}
                      for node in self.nodes],
            "publisher": {"connected": self.publisher_connected,
                          "blocked": self.publisher_blocked},
        }


class Readiness:
    """Runs the checks for one application; safe to share between threads."""

    def __init__(self, settings: Settings, store: Store, publisher: Publisher) -> None:
        self._settings = settings
        self._store = store
        self._publisher = publisher
        self._lock = threading.Lock()
        self._store_probe: Future[None] | None = None

    def check(self) -> Report:
        """Probe everything at once; returns by the deadline (plus a few milliseconds)."""
        deadline = time.monotonic() + self._settings.readyz_deadline_seconds
        store_probe = self._probe_store()
        try:
            nodes = probe_nodes(self._settings, deadline)
        except CrossdockError as exc:  # a malformed amqp_url (refused at start-up anyway)
            nodes = [NodeStatus("amqp_url", exc)]
        return Report(
            store=self._store_answer(store_probe, deadline),
            nodes=nodes,
            publisher_connected=self._publisher.connected,
            publisher_blocked=self._publisher.blocked,
        )

    def _probe_store(self) -> Future[None]:
        """The running store probe, or a new one when none runs."""
        with self._lock:
            if self._store_probe is None or self._store_probe.done():
                probe: Future[None] = Future()
                threading.Thread(target=self._write_turn, args=(probe,),
                                 name="crossdock-readyz-store", daemon=True).start()
                self._store_probe = probe
            return self._store_probe

    def _write_turn(self, probe: Future[None]) -> None:
        try:
            ttl = max(1.0, self._settings.readyz_deadline_seconds)
            self._store.try_acquire_lease(READYZ_LEASE, "readyz", ttl)
            probe.set_result(None)
        except BaseException as exc:  # handed to the request, which answers 503
            probe.set_exception(exc)

    def _store_answer(self, probe: Future[None], deadline: float) -> str:
        seconds = self._settings.readyz_deadline_seconds
        try:
            probe.result(max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            return f"no write turn within {seconds:g} s (the store is busy or hung)"
        except Exception as exc:  # never a 500: readiness reports what it found
            return str(exc) or type(exc).__name__
        return "ok"
