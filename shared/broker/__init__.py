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
    BrokerError,
    BrokerUnavailableError,
    PublishRejectedError,
    TopologyMismatchError,
)
from shared.broker.publisher import OutgoingMessage, Publisher
from shared.broker.redrive import ParkedMessage, redrive_failed
from shared.broker.topology import (
    QueueSpec,
    declare_topology,
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
    "Ack",
    "BrokerAccessDeniedError",
    "BrokerError",
    "BrokerUnavailableError",
    "Defer",
    "Delivery",
    "Fail",
    "Handler",
    "Outcome",
    "OutgoingMessage",
    "ParkedMessage",
    "PublishRejectedError",
    "Publisher",
    "QueueSpec",
    "Retry",
    "TopologyMismatchError",
    "Worker",
    "declare_topology",
    "endpoint_topology",
    "ping",
    "queue_depths",
    "redrive_failed",
]
