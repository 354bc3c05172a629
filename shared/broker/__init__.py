"""RabbitMQ: queue topology, publishing with confirms, and the consuming runtime.

The only package that imports pika; everything it raises is a `shared.errors` class.
"""

from shared.broker.delivery import (
    ATTEMPT_HEADER,
    DEFER_REASON_HEADER,
    DEFERRALS_HEADER,
    ERROR_HEADER,
    ORIGIN_HEADER,
    REASON_HEADER,
    ROUND_START_HEADER,
    Ack,
    Defer,
    Delivery,
    Fail,
    Handler,
    Outcome,
    Retry,
)
from shared.broker.errors import (
    BrokerAccessDeniedError,
    BrokerBlockedError,
    BrokerError,
    BrokerUnavailableError,
    PublishRejectedError,
    PublishTimeoutError,
    TopologyMismatchError,
)
from shared.broker.probe import NodeStatus, probe_nodes
from shared.broker.publisher import OutgoingMessage, Publisher, PublisherObserver
from shared.broker.redrive import ParkedMessage, redrive_failed, retry_parked
from shared.broker.topology import (
    QueueCount,
    QueueSpec,
    count_queues,
    declare_topology,
    delete_topology,
    endpoint_queue_names,
    endpoint_topology,
    ping,
    queue_depths,
)
from shared.broker.worker import Worker

__all__ = [
    "ATTEMPT_HEADER",
    "DEFERRALS_HEADER",
    "DEFER_REASON_HEADER",
    "ERROR_HEADER",
    "ORIGIN_HEADER",
    "REASON_HEADER",
    "ROUND_START_HEADER",
    "Ack",
    "BrokerAccessDeniedError",
    "BrokerBlockedError",
    "BrokerError",
    "BrokerUnavailableError",
    "Defer",
    "Delivery",
    "Fail",
    "Handler",
    "NodeStatus",
    "Outcome",
    "OutgoingMessage",
    "ParkedMessage",
    "PublishRejectedError",
    "PublishTimeoutError",
    "Publisher",
    "PublisherObserver",
    "QueueCount",
    "QueueSpec",
    "Retry",
    "TopologyMismatchError",
    "Worker",
    "count_queues",
    "declare_topology",
    "delete_topology",
    "endpoint_queue_names",
    "endpoint_topology",
    "ping",
    "probe_nodes",
    "queue_depths",
    "redrive_failed",
    "retry_parked",
]
