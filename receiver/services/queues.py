"""Per endpoint, the messages waiting in its work, retry, defer and failed queues,
for the console's endpoints page.

The counts come from RabbitMQ (passive declares, all endpoints on one
connection), kept in a `BackgroundCache` refreshed every `MAX_AGE` seconds: a
page never waits on RabbitMQ. A count is of ready messages; messages a consumer
holds (unacknowledged) are not in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlsplit

from receiver.services.refresh import BackgroundCache
from shared.amqp_urls import split_amqp_urls
from shared.broker import QueueCount, count_queues
from shared.queues import defer_queue, failed_queue, retry_queue, work_queue
from shared.settings import Settings
from shared.store import QueueDelays, Store

if TYPE_CHECKING:
    from receiver.services.context import Services

#: Seconds a count is shown before it is asked again.
MAX_AGE = 10.0
#: Seconds before a failed count is tried again.
RETRY_AFTER = 5.0
#: How long a page waits for the very first count, at most.
FIRST_WAIT = 0.2

ALL = "all"  # the one key: every endpoint is counted at once


@dataclass(frozen=True)
class QueueDepth:
    name: str
    messages: int | None  # ready messages; None: the queue does not exist (yet)
    consumers: int | None


@dataclass(frozen=True)
class EndpointQueues:
    endpoint: str
    work: QueueDepth
    retry: tuple[QueueDepth, ...]  # one per retry delay, shortest first
    defer: tuple[QueueDepth, ...]
    failed: QueueDepth

    @property
    def retry_messages(self) -> int:
        return sum(queue.messages or 0 for queue in self.retry)


QueueCache = BackgroundCache[str, dict[str, EndpointQueues]]


@dataclass(frozen=True)
class QueueReport:
    """The counts as a page shows them. `queues` misses endpoints created since the
    last count, and is empty until the first one."""

    queues: dict[str, EndpointQueues]  # by endpoint name
    checked_at: datetime | None  # when RabbitMQ was asked (UTC)
    error: str | None  # why the last count failed (the counts shown are older)
    refreshing: bool
    vhost: str  # RabbitMQ's virtual host, for links into its management console


def endpoint_queue_depths(settings: Settings, endpoint: str, delays: QueueDelays,
                          counts: dict[str, QueueCount]) -> EndpointQueues:
    """An endpoint's queues with their counts (pure). The retry and defer queues are
    those of the current delays, and those of earlier delays that still exist."""

    def depth(name: str) -> QueueDepth:
        found = counts.get(name)
        return QueueDepth(name, found.messages if found else None,
                          found.consumers if found else None)

    prefix = settings.queue_prefix
    retry = [retry_queue(prefix, endpoint, d) for d in sorted(set(settings.retry_delays))]
    retry += [name for name in (retry_queue(prefix, endpoint, d)
                                for d in sorted(set(delays.retry) - set(settings.retry_delays)))
              if name in counts]
    defer = [defer_queue(prefix, endpoint, settings.defer_seconds)]
    defer += [name for name in (defer_queue(prefix, endpoint, s)
                                for s in sorted(set(delays.defer) - {settings.defer_seconds}))
              if name in counts]
    return EndpointQueues(endpoint, depth(work_queue(prefix, endpoint)),
                          tuple(depth(name) for name in retry),
                          tuple(depth(name) for name in defer),
                          depth(failed_queue(prefix, endpoint)))


def vhost_of(amqp_url: str) -> str:
    """The virtual host of the first RabbitMQ node's URL (``/`` when it names none)."""
    path = urlsplit(split_amqp_urls(amqp_url)[0]).path
    return unquote(path[1:]) if len(path) > 1 else "/"


def management_path(vhost: str, queue: str) -> str:
    """A queue's page in RabbitMQ's management console, after the console's URL."""
    return f"#/queues/{quote(vhost, safe='')}/{quote(queue, safe='')}"


def new_cache(settings: Settings, store: Store) -> QueueCache:
    """The counts of every endpoint's queues, refreshed in the background."""

    def load(_key: str) -> dict[str, EndpointQueues]:
        endpoints = [endpoint.name for endpoint in store.list_endpoints()]
        delays = store.queue_delays()
        names = [name for endpoint in endpoints for name in _all_names(
            settings, endpoint, delays)]
        counts = count_queues(settings, names)
        return {endpoint: endpoint_queue_depths(settings, endpoint, delays, counts)
                for endpoint in endpoints}

    return BackgroundCache(load, name="queue-depths", max_age=MAX_AGE,
                           retry_after=RETRY_AFTER, workers=1)


def _all_names(settings: Settings, endpoint: str, delays: QueueDelays) -> list[str]:
    prefix = settings.queue_prefix
    return [work_queue(prefix, endpoint), failed_queue(prefix, endpoint),
            *(retry_queue(prefix, endpoint, d) for d in {*settings.retry_delays, *delays.retry}),
            *(defer_queue(prefix, endpoint, s) for s in {settings.defer_seconds, *delays.defer})]


def endpoint_queues(found: Services, *, wait: float = FIRST_WAIT) -> QueueReport:
    """Every endpoint's queue counts as last asked; asks RabbitMQ again in the
    background when they are `MAX_AGE` old. Waits up to `wait` seconds for the
    first count only."""
    snapshot = found.queues.get(ALL, wait=wait)
    return QueueReport(snapshot.value or {}, snapshot.loaded_at, snapshot.error,
                       snapshot.refreshing, vhost_of(found.settings.amqp_url))
