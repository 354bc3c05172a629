"""`crossdock consumer`: consume endpoints' work queues until told to stop.

Consumes the named endpoints, or every endpoint in the store (picking up new
ones while it runs, and letting deleted ones go). SIGTERM and SIGINT stop it
gracefully: no new messages, in-flight jobs finish (or go back to the queue
after the worker's stop timeout), exit 0.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Any

import structlog

from consumers.handlers import JobHandlers
from consumers.metrics import ConsumerMetrics
from consumers.registries import RegistryDirectory
from consumers.runner import JobRunner
from shared.broker import Publisher, Worker
from shared.copy.engine import CopyEngine, CopyOptions
from shared.errors import ConfigurationError, CrossdockError
from shared.settings import Settings
from shared.store import Store, remember_queue_delays

ENDPOINT_POLL_SECONDS = 5.0
LISTED_ENDPOINTS = 20  # in the message about an unknown endpoint

log = structlog.get_logger("crossdock.consumer")


def check_endpoint_names(wanted: Sequence[str], known: Sequence[str]) -> None:
    """Raise `ConfigurationError` naming the `wanted` endpoints that aren't `known`.

    A consumer for a name with no endpoint would wait on new, empty queues forever.
    """
    unknown = sorted(set(wanted) - set(known))
    if not unknown:
        return
    names = ", ".join(f"'{name}'" for name in unknown)
    what = f"no endpoint named {names}" if len(unknown) == 1 else f"no endpoints named {names}"
    shown = sorted(known)[:LISTED_ENDPOINTS]
    more = f" and {len(known) - len(shown)} more" if len(known) > len(shown) else ""
    listed = (f"known endpoints: {', '.join(shown)}{more}" if known
              else "there are no endpoints yet: `crossdock endpoints create` adds one")
    raise ConfigurationError(f"{what} to consume ({listed})")


class ConsumerService:
    """Wires store, broker worker, copy engine and metrics into one consumer process."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        endpoints: Sequence[str] = (),
        *,
        endpoint_poll_seconds: float = ENDPOINT_POLL_SECONDS,
    ) -> None:
        self.settings = settings
        self.endpoint_poll_seconds = endpoint_poll_seconds
        self.store = store
        remember_queue_delays(store, settings)
        self.fixed_endpoints = tuple(endpoints)
        if self.fixed_endpoints:
            check_endpoint_names(self.fixed_endpoints,
                                 [endpoint.name for endpoint in store.list_endpoints()])
        self.metrics = ConsumerMetrics()
        options = CopyOptions(blob_workers=settings.blob_workers, chunk_size=settings.chunk_size,
                              copy_referrers=settings.copy_referrers)
        self.engine = CopyEngine(options)
        self.publisher = Publisher(settings, name="crossdock-consumer-publisher")
        self.directory = RegistryDirectory(store, settings)
        self.runner = JobRunner(settings, store, self.directory,
                                JobHandlers(options, self.publisher.publish_jobs, self.metrics,
                                            settle_seconds=settings.settle_seconds),
                                self.engine, self.metrics, lease_ttl=settings.lease_ttl)
        self.worker = Worker(settings, self.runner, self._initial_endpoints(),
                             name="crossdock-consumer")
        self._stopped = threading.Event()
        self.metrics_server: Any = None

    def _initial_endpoints(self) -> list[str]:
        if self.fixed_endpoints:
            return list(self.fixed_endpoints)
        return [endpoint.name for endpoint in self.store.list_endpoints()]

    def run(self, *, metrics_port: int | None = None, handle_signals: bool = True) -> None:
        """Consume until `stop()` (or SIGTERM/SIGINT).

        Raises on broker misconfiguration, and `ConfigurationError` when the
        metrics port is taken.
        """
        if handle_signals:
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, self._on_signal)
        port = self.settings.consumer_metrics_port if metrics_port is None else metrics_port
        try:
            if port:
                self.metrics_server = self.metrics.serve(port)
                log.info("serving metrics", port=port)
            watcher = threading.Thread(target=self._watch_endpoints, name="endpoint-watcher",
                                       daemon=True)
            watcher.start()
            self.worker.run()
        finally:
            self._stopped.set()
            self.runner.stopping.set()
            self.runner.close()
            self.publisher.close()
            self.engine.close()
            self.directory.close()
            if self.metrics_server is not None:
                self.metrics_server.shutdown()
                self.metrics_server.server_close()
            log.info("consumer stopped")

    def stop(self) -> None:
        """Ask the consumer to stop; safe from a signal handler."""
        self.worker.stop()
        self.runner.stopping.set()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("stopping", signal=signal.Signals(signum).name)
        self.stop()

    def _watch_endpoints(self) -> None:
        """Follow the store's endpoints: consume those created while running (with a
        fixed list, only those listed), stop consuming deleted ones, and consume
        again an endpoint the broker stopped (its work queue deleted by hand) while
        the store still has it."""
        while not self._stopped.wait(self.endpoint_poll_seconds):
            try:
                names = {endpoint.name for endpoint in self.store.list_endpoints()}
            except CrossdockError as exc:
                log.warning("could not list endpoints", error=str(exc))
                continue
            wanted = names & set(self.fixed_endpoints) if self.fixed_endpoints else names
            consumed = self.worker.endpoints
            for name in sorted(wanted - consumed):
                log.info("consuming endpoint", endpoint=name)
                self.worker.add_endpoint(name)
            if not self.fixed_endpoints:
                for name in sorted(consumed - names):
                    log.info("endpoint deleted, no longer consuming it", endpoint=name)
                    self.worker.remove_endpoint(name)
