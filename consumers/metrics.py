"""The consumer's Prometheus metrics, served on `/metrics`."""

from __future__ import annotations

import errno
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from shared.errors import ConfigurationError


class ConsumerMetrics:
    """Jobs by outcome, bytes copied, copy seconds, retries. One registry per instance."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.jobs = Counter("crossdock_consumer_jobs_total",
                            "Jobs finished or retried, by action and outcome",
                            ["action", "outcome"], registry=self.registry)
        self.retries = Counter("crossdock_consumer_retries_total",
                               "Jobs sent to a retry queue after a transient failure",
                               ["endpoint"], registry=self.registry)
        self.bytes_copied = Counter("crossdock_consumer_bytes_copied_total",
                                    "Blob bytes uploaded to endpoints", ["endpoint"],
                                    registry=self.registry)
        self.seconds = Histogram("crossdock_consumer_job_seconds",
                                 "Time spent running one job attempt", ["action"],
                                 buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
                                 registry=self.registry)
        self.in_progress = Gauge("crossdock_consumer_jobs_in_progress",
                                 "Jobs running right now", registry=self.registry)
        self.deferred = Counter("crossdock_consumer_jobs_deferred_total",
                                "Job runs put off because the source had not finished "
                                "writing the event's tag yet", registry=self.registry)
        self.superseded = Counter("crossdock_consumer_jobs_superseded_total",
                                  "Jobs skipped because a newer job for the same tag exists",
                                  registry=self.registry)
        self.conflicts = Counter("crossdock_consumer_conflicts_total",
                                 "Two-way conflicts (both sides changed a tag), by the side "
                                 "that won: source, destination, or none (override off)",
                                 ["winner"], registry=self.registry)
        self.undecodable = Counter("crossdock_consumer_undecodable_messages_total",
                                   "Messages that could not be read, parked at once",
                                   registry=self.registry)

    def serve(self, port: int, addr: str = "127.0.0.1") -> Any:
        """Serve `/metrics` on `addr:port` in a daemon thread; returns the server.

        Raises `ConfigurationError` when the port can't be had (most often: another
        consumer on this machine has it).
        """
        try:
            server, _thread = start_http_server(port, addr=addr, registry=self.registry)
        except OSError as exc:
            raise ConfigurationError(metrics_port_problem(addr, port, exc)) from None
        return server


def metrics_port_problem(addr: str, port: int, exc: OSError) -> str:
    """One line saying why the port failed, and which setting or flag picks another."""
    reason = (exc.strerror or str(exc)).lower()
    if exc.errno == errno.EADDRINUSE:
        reason += " (another consumer on this machine?)"
    return (f"cannot serve the consumer's metrics on {addr}:{port}: {reason}; give each "
            "consumer on a machine its own port with CROSSDOCK_CONSUMER_METRICS_PORT or "
            "--metrics-port (0: no metrics)")
