"""Replication rules: creating, changing, enabling, running and deleting them.

A rule's endpoint is an existing endpoint's name, or an endpoint created with the
rule (Harbor's "New Endpoint"): if the rule then cannot be recorded, the new
endpoint is deleted again. Creating an enabled rule, or enabling one, starts an
initial sync (`executions.start_execution`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import structlog

from receiver.services.context import Services
from receiver.services.executions import Started, refuse_while_blocked, start_execution
from receiver.services.lookalikes import endpoint_warnings, rule_warnings
from receiver.services.lookup import endpoint_field, source_field
from receiver.services.queues import ALL
from shared.deadline import Deadline
from shared.errors import CrossdockError
from shared.store import (
    ConflictError,
    EndpointRecord,
    ExecutionTrigger,
    RecordNotFoundError,
    RuleRecord,
)

log = structlog.get_logger("crossdock.receiver")


@dataclass(frozen=True)
class RuleChange:
    """A rule as a request left it: what looks wrong about it (and about an endpoint
    created with it), and the execution the request started, if any."""

    rule: RuleRecord
    warnings: list[str]
    started: Started | None = None


@contextmanager
def _endpoint(found: Services, ref: str | Mapping[str, Any]) -> Iterator[EndpointRecord]:
    """The named endpoint, or a new one that is deleted again if the block fails."""
    store = found.store
    if isinstance(ref, str):
        yield endpoint_field(store, ref)
        return
    created = store.create_endpoint(**ref)
    found.queues.expire(ALL)  # counted with the others at the next look
    try:
        yield created
    except BaseException:
        with suppress(CrossdockError):
            store.delete_endpoint(created.id)
        raise
    log.info("endpoint created with a rule", endpoint=created.name, url=created.url)


def _new_endpoint_warnings(found: Services, ref: str | Mapping[str, Any],
                           endpoint: EndpointRecord) -> list[str]:
    """The look-alike warnings of an endpoint created with the rule (none for a name)."""
    return [] if isinstance(ref, str) else endpoint_warnings(found.store, endpoint)


def _rule_exists(found: Services, name: str) -> bool:
    try:
        found.store.get_rule_by_name(name)
    except RecordNotFoundError:
        return False
    return True


def create_rule(found: Services, data: Mapping[str, Any]) -> RuleChange:
    """Record a rule (`RuleCreateSchema`'s shape: the source by name, the endpoint by
    name or as an endpoint to create); an enabled one starts an initial sync.

    Raises `ValidationError` naming ``source`` or ``endpoint`` when no record has that
    name, `ConflictError` for a rule (or a new endpoint) name already taken.
    """
    values = dict(data)
    values["source_id"] = source_field(found.store, values.pop("source")).id
    if _rule_exists(found, values["name"]):  # checked before an inline endpoint is created
        raise ConflictError(f"a rule named {values['name']!r} already exists")
    ref = values.pop("endpoint")
    with _endpoint(found, ref) as endpoint:
        rule = found.store.create_rule(endpoint_id=endpoint.id, **values)
    log.info("rule created", rule=rule.name, enabled=rule.enabled)
    started = start_execution(found, rule, ExecutionTrigger.INITIAL) if rule.enabled else None
    warnings = [*_new_endpoint_warnings(found, ref, endpoint),
                *rule_warnings(found.store, rule)]
    return RuleChange(rule, warnings, started)


def update_rule(found: Services, rule: RuleRecord, data: Mapping[str, Any]) -> RuleChange:
    """Change a rule (`RulePatchSchema`'s shape, partial); enabling it starts an initial
    sync. Raises as `create_rule` does."""
    values = dict(data)
    changed = sorted(values)
    if "source" in values:
        values["source_id"] = source_field(found.store, values.pop("source")).id
    warnings: list[str] = []
    if "endpoint" in values:
        ref = values.pop("endpoint")
        with _endpoint(found, ref) as endpoint:
            updated = found.store.update_rule(rule.id, endpoint_id=endpoint.id, **values)
        warnings += _new_endpoint_warnings(found, ref, endpoint)
    else:
        updated = found.store.update_rule(rule.id, **values)
    log.info("rule changed", rule=updated.name, fields=changed)
    started = None
    if updated.enabled and not rule.enabled:
        started = start_execution(found, updated, ExecutionTrigger.INITIAL)
    return RuleChange(updated, warnings + rule_warnings(found.store, updated), started)


def enable_rule(found: Services, rule: RuleRecord,
                deadline: Deadline | None = None) -> RuleChange:
    """Enable a rule and start its initial sync within `deadline`; a rule already
    enabled is left as it is (no execution). Raises `BrokerBlockedError` before
    anything changes while RabbitMQ blocks publishes."""
    if rule.enabled:
        return RuleChange(rule, [])
    refuse_while_blocked(found.publisher)
    rule = found.store.update_rule(rule.id, enabled=True)
    return RuleChange(rule, [], start_execution(found, rule, ExecutionTrigger.INITIAL,
                                                deadline))


def disable_rule(found: Services, rule: RuleRecord) -> RuleRecord:
    """Disable a rule: new events are ignored, queued jobs are skipped."""
    updated = found.store.update_rule(rule.id, enabled=False)
    log.info("rule disabled", rule=rule.name)
    return updated


def run_rule(found: Services, rule: RuleRecord, deadline: Deadline | None = None) -> Started:
    """Start a manual execution replicating the whole project, within `deadline`.
    Raises `ConflictError` for a disabled rule, `BrokerBlockedError` while RabbitMQ
    blocks publishes."""
    if not rule.enabled:
        raise ConflictError(f"rule {rule.name!r} is disabled: enable it (which also runs it)")
    refuse_while_blocked(found.publisher)
    return start_execution(found, rule, ExecutionTrigger.MANUAL, deadline)


def delete_rule(found: Services, rule: RuleRecord) -> None:
    """Delete a rule with its executions and jobs."""
    found.store.delete_rule(rule.id)
    log.info("rule deleted", rule=rule.name)
