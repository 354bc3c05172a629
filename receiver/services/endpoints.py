"""Endpoints: the registries crossdock writes to. Creating, changing and deleting
them (with their RabbitMQ queues), and redriving their failed queue."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from receiver.services.context import Services
from receiver.services.errors import QueuesUnavailableError
from receiver.services.lookalikes import endpoint_warnings
from receiver.services.names import is_id
from receiver.services.queues import ALL
from receiver.services.turns import failed_queue_turn
from shared.broker import (
    BrokerError,
    ParkedMessage,
    delete_topology,
    endpoint_queue_names,
    redrive_failed,
)
from shared.store import ConflictError, EndpointRecord, RecordNotFoundError

log = structlog.get_logger("crossdock.receiver")


@dataclass(frozen=True)
class EndpointChange:
    """An endpoint as a request left it, with what looks wrong about it."""

    endpoint: EndpointRecord
    warnings: list[str]


@dataclass(frozen=True)
class Redriven:
    endpoint: str
    moved: int  # messages moved back to the work queue
    jobs_reset: int  # failed jobs set back to pending


def create_endpoint(found: Services, data: Mapping[str, Any]) -> EndpointChange:
    """Record an endpoint (`EndpointCreateSchema`'s shape). Raises `ConflictError` for a
    name already taken."""
    endpoint = found.store.create_endpoint(**data)
    found.queues.expire(ALL)  # counted with the others at the next look
    log.info("endpoint created", endpoint=endpoint.name, url=endpoint.url)
    return EndpointChange(endpoint, endpoint_warnings(found.store, endpoint))


def update_endpoint(found: Services, endpoint: EndpointRecord,
                    data: Mapping[str, Any]) -> EndpointChange:
    """Change an endpoint (`EndpointPatchSchema`'s shape, partial); None removes the
    username, password or CA bundle."""
    updated = found.store.update_endpoint(endpoint.id, **data)
    found.endpoints.clear()  # this process's webhook path sees the change at once
    log.info("endpoint changed", endpoint=endpoint.name, fields=sorted(data))
    return EndpointChange(updated, endpoint_warnings(found.store, updated))


def delete_endpoint(found: Services, endpoint: EndpointRecord) -> int:
    """Delete an endpoint, its job history and its queues with their messages; returns
    how many messages went.

    The store's record goes first (then no consumer takes the endpoint up again),
    then its queues, those of every retry and defer delay ever used included; its
    jobs went with the record, so their messages are orphans. Raises
    `ConflictError` while a rule uses it, and `QueuesUnavailableError` when RabbitMQ
    is unreachable: before anything was deleted, or half-way (the record is gone and
    the message names the queues left).
    """
    delays = found.store.queue_delays()
    deleted = False

    def delete_record() -> None:
        nonlocal deleted
        found.store.delete_endpoint(endpoint.id)
        deleted = True
        found.endpoints.clear()
        found.queues.expire(ALL)
        found.publisher.forget_endpoint(endpoint.name)

    name = endpoint.name
    try:
        dropped = delete_topology(found.settings, name, retry_delays=delays.retry,
                                  defer_seconds=delays.defer, before_delete=delete_record)
    except BrokerError as exc:
        if not deleted:
            raise QueuesUnavailableError(f"endpoint {name} was not deleted: {exc}") from exc
        queues = ", ".join(endpoint_queue_names(found.settings, name, delays.retry,
                                               delays.defer))
        log.error("endpoint deleted, but not all of its queues", endpoint=name, error=str(exc))
        raise QueuesUnavailableError(
            f"endpoint {name} was deleted, but not all of its queues ({exc}); delete those "
            f"left with rabbitmqctl delete_queue <name>: {queues}") from exc
    log.info("endpoint deleted", endpoint=name, messages_dropped=dropped)
    return dropped


def redrive_endpoint(found: Services, endpoint: EndpointRecord) -> Redriven:
    """Move every message of the endpoint's failed queue back to its work queue (each
    keeps its attempt and starts a new round); their failed jobs go back to pending.

    Raises `ConflictError` while a job retry or another redrive of the endpoint runs,
    `QueuesUnavailableError` when RabbitMQ fails half-way (call it again to move the
    rest).
    """
    store = found.store
    reset = 0

    def before_move(message: ParkedMessage) -> None:
        nonlocal reset
        job_id = message.message_id or ""
        if not is_id(job_id):
            return  # not one of ours: moved anyway, the consumer parks what it can't read
        try:
            store.reset_for_retry(int(job_id))
            reset += 1
        except (ConflictError, RecordNotFoundError):
            pass  # already retried, or its rule is gone (the consumer drops it)

    try:
        with failed_queue_turn(store, endpoint):
            moved = redrive_failed(found.settings, endpoint.name, before_move)
    except BrokerError as exc:
        raise QueuesUnavailableError(
            f"redrive stopped ({exc}); call it again to move the rest") from exc
    finally:
        found.queues.expire(ALL)  # the depths shown change: counted again at the next look
    log.info("failed queue redriven", endpoint=endpoint.name, moved=moved, jobs_reset=reset)
    return Redriven(endpoint.name, moved, reset)
