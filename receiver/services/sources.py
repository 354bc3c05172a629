"""Sources: registries that notify crossdock. Creating and changing them, with
their webhook secret (generated when not given), and deleting them."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from receiver.services.context import Services
from receiver.services.lookalikes import source_warnings
from shared.store import SourceRecord

log = structlog.get_logger("crossdock.receiver")


@dataclass(frozen=True)
class SourceChange:
    """A source as a request left it. `secret` is the webhook secret this request set
    (to show once), None when it kept the old one."""

    source: SourceRecord
    secret: str | None = field(repr=False)
    warnings: list[str]


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


def create_source(found: Services, data: Mapping[str, Any]) -> SourceChange:
    """Record a source (`SourceCreateSchema`'s shape); its webhook secret is generated
    when not given. Raises `ConflictError` for a name already taken."""
    values = dict(data)
    secret = values.pop("webhook_secret", None) or new_webhook_secret()
    source = found.store.create_source(**values, webhook_secret=secret)
    log.info("source created", source=source.name, url=source.url)
    return SourceChange(source, secret, source_warnings(found.store, source))


def update_source(found: Services, source: SourceRecord,
                  data: Mapping[str, Any]) -> SourceChange:
    """Change a source (`SourcePatchSchema`'s shape, partial): None removes the
    username, password or CA bundle; ``regenerate_webhook_secret`` makes a new secret."""
    values = dict(data)
    if values.pop("regenerate_webhook_secret", False):
        values["webhook_secret"] = new_webhook_secret()
    updated = found.store.update_source(source.id, **values)
    found.sources.clear()  # this process's webhook path sees the change at once
    found.projects.forget(source.id)  # listed again with the new URL or credentials
    log.info("source changed", source=source.name, fields=sorted(values))
    return SourceChange(updated, values.get("webhook_secret"),
                        source_warnings(found.store, updated))


def delete_source(found: Services, source: SourceRecord) -> None:
    """Delete a source and its job history. Raises `ConflictError` while a rule uses it."""
    found.store.delete_source(source.id)
    found.sources.clear()
    found.projects.forget(source.id)
    log.info("source deleted", source=source.name)
