"""Test Connection: a stored endpoint, connection fields, or both (the fields given
override the stored ones, to try a new password before saving it). See `probe`
for the checks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from receiver.services.checks import Report, Target
from receiver.services.context import Services
from receiver.services.lookup import endpoint_named
from receiver.services.probe import check_connection

log = structlog.get_logger("crossdock.receiver")


@dataclass(frozen=True)
class ConnectionTest:
    target: Target
    report: Report


def ping_endpoint(found: Services, data: Mapping[str, Any]) -> ConnectionTest:
    """Run the connection checks (`PingSchema`'s shape: ``name`` of a stored endpoint
    and/or ``url``, ``kind``, ``username``, ``password``, ``verify_tls``,
    ``ca_bundle``, and the ``project`` to check push rights in). A stored endpoint's
    project defaults to the destination project of the first rule that uses it.

    Raises `RecordNotFoundError` for an unknown endpoint name; the checks themselves
    never raise (a failure is a failed check).
    """
    values = dict(data)
    settings: dict[str, Any] = {}
    name = values.pop("name", None)
    if name is not None:
        settings = _stored(found, name)
    settings.update(values)
    target = Target(**settings)
    report = check_connection(target)
    log.info("connection tested", url=target.url, ok=report.ok,
             failed=[c.name for c in report.checks if not c.ok])
    return ConnectionTest(target, report)


def _stored(found: Services, name: str) -> dict[str, Any]:
    store = found.store
    endpoint = endpoint_named(store, name)
    credentials = store.endpoint_credentials(endpoint.id)
    rules = store.list_rules(endpoint_id=endpoint.id)
    project = None
    if rules:
        project = (rules[0].dest_namespace or rules[0].project).split("/", 1)[0]
    return {"url": endpoint.url, "kind": endpoint.kind, "username": credentials.username,
            "password": credentials.password, "verify_tls": endpoint.verify_tls,
            "ca_bundle": endpoint.ca_bundle, "project": project}
