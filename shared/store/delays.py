"""The delays retry and defer queues were declared with (`queue_delays`).

A delay is part of its queue's name (``….retry.30s``), and RabbitMQ cannot list
queues over AMQP: so each receiver and consumer records the `retry_delays` and
`defer_seconds` it runs with, and deleting an endpoint deletes the queues of
every delay recorded, those of earlier settings included.
"""

from __future__ import annotations

from collections.abc import Iterable

import structlog
from sqlalchemy import select

from shared.errors import CrossdockError
from shared.settings import Settings
from shared.store.base import StoreBase, dialect_insert
from shared.store.records import DelayQueueKind, QueueDelays
from shared.store.schema import queue_delays

log = structlog.get_logger(__name__)


class DelayStore(StoreBase):
    def remember_queue_delays(self, retry: Iterable[int], defer: Iterable[int]) -> None:
        """Record the delays of queues this process declares (those known already are
        left alone; nothing is written when all are)."""
        wanted = {(DelayQueueKind.RETRY.value, int(s)) for s in retry} | {
            (DelayQueueKind.DEFER.value, int(s)) for s in defer}
        missing = wanted - self._recorded()
        if not missing:
            return
        insert = dialect_insert(self._engine.dialect.name)
        rows = [{"kind": kind, "seconds": seconds} for kind, seconds in sorted(missing)]
        with self._write() as conn:
            conn.execute(insert(queue_delays).values(rows).on_conflict_do_nothing())

    def queue_delays(self) -> QueueDelays:
        """Every delay recorded, shortest first."""
        recorded = self._recorded()
        return QueueDelays(
            retry=tuple(sorted(s for kind, s in recorded if kind == DelayQueueKind.RETRY)),
            defer=tuple(sorted(s for kind, s in recorded if kind == DelayQueueKind.DEFER)),
        )

    def _recorded(self) -> set[tuple[str, int]]:
        with self._read() as conn:
            rows = conn.execute(select(queue_delays.c.kind, queue_delays.c.seconds)).all()
        return {(row.kind, int(row.seconds)) for row in rows}


def remember_queue_delays(store: DelayStore, settings: Settings) -> None:
    """Record the delays `settings` declare queues with; called as a receiver or a
    consumer starts. A failure is logged, not raised: the process runs all the
    same, and records them on its next start."""
    try:
        store.remember_queue_delays(settings.retry_delays, [settings.defer_seconds])
    except CrossdockError as exc:
        log.warning("could not record the delays of this process's retry and defer "
                    "queues; deleting an endpoint may leave some of them", error=str(exc))
