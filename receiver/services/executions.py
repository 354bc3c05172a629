"""Executions: starting one for a rule, and listing them page by page.

An execution is one `sync` job for the rule's project, recorded and published
through `shared.dispatch`; the consumer lists the project at the source and
queues one replicate job per image. Starting one answers within
``webhook_deadline_seconds``: a broker that is blocked is refused before
anything changes; one that times out or is unreachable fails the execution's
sync job with the reason (retry it, or run the rule again).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import structlog

from receiver.errors import unavailable_reason
from receiver.services.context import Services
from receiver.services.pages import Page, page_of
from shared.broker import BrokerBlockedError, Publisher
from shared.deadline import Deadline
from shared.dispatch import ExecutionNotQueuedError
from shared.dispatch import start_execution as dispatch_execution
from shared.store import ExecutionRecord, ExecutionStatus, ExecutionTrigger, RuleRecord

log = structlog.get_logger("crossdock.receiver")

BLOCKED_MESSAGE = ("RabbitMQ is blocking publishes (a resource alarm): nothing was changed, "
                   "try again later")


@dataclass(frozen=True)
class Started:
    """An execution started by a request. `reason` and `error` are set when its sync
    job could not be queued (the job is failed, so it can be retried)."""

    execution_id: int
    reason: str | None = None  # blocked, unreachable, timeout or store_busy
    error: str | None = None

    @property
    def queued(self) -> bool:
        return self.reason is None


def refuse_while_blocked(publisher: Publisher) -> None:
    """Raises `BrokerBlockedError` (503 ``blocked``) while RabbitMQ is known to refuse
    publishes (a resource alarm): call it before changing anything."""
    if publisher.blocked:
        raise BrokerBlockedError(BLOCKED_MESSAGE)


def start_execution(found: Services, rule: RuleRecord, trigger: ExecutionTrigger,
                    deadline: Deadline | None = None) -> Started:
    """Start an execution of `rule` within `deadline` (by default
    ``webhook_deadline_seconds`` from now).

    A sync job the broker did not take is failed and reported in the `Started`.
    Raises the store's errors, and `DeadlineExceededError` before the execution is
    recorded.
    """
    try:
        execution, job = dispatch_execution(
            found.store, found.publisher.publish_jobs, rule, trigger,
            deadline=deadline or Deadline.after(found.settings.webhook_deadline_seconds))
    except ExecutionNotQueuedError as exc:
        reason = unavailable_reason(exc)
        log.warning("execution not queued", rule=rule.name, execution=exc.execution_id,
                    reason=reason, error=str(exc))
        return Started(exc.execution_id, reason, str(exc))
    log.info("execution started", rule=rule.name, execution=execution.id, job=job.id,
             trigger=str(trigger))
    return Started(execution.id)


def list_executions(found: Services, *, rule_id: int | None = None,
                    status: ExecutionStatus | None = None, limit: int = 100, offset: int = 0,
                    before: int | None = None) -> Page[ExecutionRecord]:
    """Executions newest first, older than `before` (an execution id) when given."""
    rows = found.store.list_executions(rule_id=rule_id, status=status, limit=limit + 1,
                                       offset=offset, before=before)
    return page_of(rows, limit, lambda execution: execution.id)


def latest_executions(found: Services,
                      rule_ids: Iterable[int] | None = None) -> dict[int, ExecutionRecord]:
    """The newest execution of each rule (of these rules) that has one, by rule id."""
    return found.store.latest_executions(rule_ids)
