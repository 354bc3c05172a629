"""The receiver's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class ReceiverMetrics:
    """Events received, accepted, rejected, ignored; echoes; publish failures; webhook
    503s by reason; jobs the sweeper published again."""

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
        self.unavailable = Counter("crossdock_receiver_webhooks_unavailable_total",
                                   "Webhooks answered 503, by reason (blocked, unreachable, "
                                   "timeout, store_busy)", ["reason"], registry=r)
        self.republished = Counter("crossdock_receiver_jobs_republished_total",
                                   "Pending jobs never confirmed by RabbitMQ, published "
                                   "again by the sweeper", registry=r)
        self.broker = BrokerMetrics(r)


class BrokerMetrics:
    """The receiver's RabbitMQ connection: a `PublisherObserver`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        # livemax: with several gunicorn workers, 1 when any live one is connected/blocked.
        self.connected = Gauge("crossdock_receiver_broker_connected",
                               "1 while the publisher holds a RabbitMQ connection",
                               registry=r, multiprocess_mode="livemax")
        self.blocked = Gauge("crossdock_receiver_broker_blocked",
                             "1 while RabbitMQ blocks publishing (a memory or disk alarm)",
                             registry=r, multiprocess_mode="livemax")
        self.reconnects = Counter("crossdock_receiver_broker_reconnects_total",
                                  "RabbitMQ connections opened after the first one",
                                  registry=r)
        self.publish_timeouts = Counter("crossdock_receiver_publish_timeouts_total",
                                        "Publishes not confirmed by their deadline", registry=r)

    def broker_connected(self, connected: bool) -> None:
        self.connected.set(1 if connected else 0)

    def broker_blocked(self, blocked: bool) -> None:
        self.blocked.set(1 if blocked else 0)

    def broker_reconnected(self) -> None:
        self.reconnects.inc()

    def publish_timed_out(self) -> None:
        self.publish_timeouts.inc()
