"""The receiver's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class ReceiverMetrics:
    """Events received, accepted, rejected, ignored; echoes; publish failures."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.received = Counter("crossdock_receiver_events_received_total",
                                "Registry events received", ["source"], registry=r)
        self.accepted = Counter("crossdock_receiver_events_accepted_total",
                                "Events that became jobs", ["source"], registry=r)
        self.rejected = Counter("crossdock_receiver_events_rejected_total",
                                "Events refused (bad names, unknown kinds), answered 2xx",
                                ["source", "reason"], registry=r)
        self.ignored = Counter("crossdock_receiver_events_ignored_total",
                               "Events with nothing to do (pulls, blobs, no rule, echoes)",
                               ["source", "reason"], registry=r)
        self.echo_drops = Counter("crossdock_receiver_echo_drops_total",
                                  "Events not copied back to the registry crossdock copied "
                                  "them from, counted once per rule", ["source"], registry=r)
        self.jobs = Counter("crossdock_receiver_jobs_created_total",
                            "Jobs recorded and published", ["action"], registry=r)
        self.publish_failures = Counter("crossdock_receiver_publish_failures_total",
                                        "Publishes that failed (answered 503)", registry=r)
