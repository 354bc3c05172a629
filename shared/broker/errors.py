"""Errors the broker package raises; pika's own exceptions never leave the package."""

from __future__ import annotations

from shared.errors import ConfigurationError, CrossdockError, TransientError


class BrokerError(CrossdockError):
    """Base for RabbitMQ trouble. Mixed into a transient or permanent class.

    The receiver answers 503 to any of these, so the registry sends the event again.
    """


class BrokerUnavailableError(TransientError, BrokerError):
    """RabbitMQ cannot be reached, or dropped the connection, and reconnecting did not help."""


class PublishTimeoutError(BrokerUnavailableError):
    """A publish was not confirmed by its deadline (a frozen or slow node, a lost network).

    The message may still reach RabbitMQ later: the consumer drops duplicates of jobs
    that are already finished.
    """


class BrokerBlockedError(BrokerUnavailableError):
    """RabbitMQ blocks publishers (a memory or disk alarm): nothing is published until
    the alarm clears. Raised at once while this process knows it is blocked."""


class PublishRejectedError(TransientError, BrokerError):
    """RabbitMQ did not take a message: it nacked it, or no queue of that name exists."""

    def __init__(self, message: str, *, queue: str, unroutable: bool = False) -> None:
        super().__init__(message)
        self.queue = queue
        self.unroutable = unroutable


class BrokerAccessDeniedError(ConfigurationError, BrokerError):
    """RabbitMQ refused the credentials, the virtual host or a permission (fix amqp_url)."""


class TopologyMismatchError(ConfigurationError, BrokerError):
    """A queue exists with other arguments than the settings declare (AMQP 406).

    Typically `queue_type` was changed on a broker that already has the queues.
    """

    def __init__(self, message: str, *, queue: str) -> None:
        super().__init__(message)
        self.queue = queue
