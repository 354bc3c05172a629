"""Errors the services raise besides the store's and the broker's own.

A field error is marshmallow's `ValidationError` naming the field, as the
schemas raise it: the API answers 400 with the fields, the console shows the
message beside its field.
"""

from __future__ import annotations

from marshmallow import ValidationError

from shared.errors import TransientError


def field_error(name: str, message: str) -> ValidationError:
    """A field error naming one field."""
    return ValidationError({name: [message]})


class QueuesUnavailableError(TransientError):
    """RabbitMQ failed while queues were moved or deleted; the message says what was
    done and what is left to do (the API answers 503)."""


class NotQueuedError(TransientError):
    """A job was set to run again, but its message was not queued (it is failed again
    with the reason, so it can be retried). `reason` is the 503's reason: blocked,
    unreachable, timeout or store_busy."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason
