"""Finding records by the names in URLs and forms, or by name or id in query strings."""

from __future__ import annotations

from receiver.services.errors import field_error
from receiver.services.names import NAME_RE, is_id
from shared.store import EndpointRecord, RecordNotFoundError, RuleRecord, SourceRecord, Store


def _check(what: str, name: str) -> None:
    # A name no record can have is answered before it reaches the database.
    if not NAME_RE.fullmatch(name):
        raise RecordNotFoundError(f"no {what} named {name!r}")


def endpoint_named(store: Store, name: str) -> EndpointRecord:
    """Raises `RecordNotFoundError` (404)."""
    _check("endpoint", name)
    return store.get_endpoint_by_name(name)


def source_named(store: Store, name: str) -> SourceRecord:
    """Raises `RecordNotFoundError` (404)."""
    _check("source", name)
    return store.get_source_by_name(name)


def rule_named(store: Store, name: str) -> RuleRecord:
    """Raises `RecordNotFoundError` (404)."""
    _check("rule", name)
    return store.get_rule_by_name(name)


def rule_id_of(store: Store, value: str, field: str = "rule") -> int:
    """A rule given by name or id. Raises `ValidationError` naming `field` (400)."""
    try:
        return rule_named(store, value).id
    except RecordNotFoundError:
        pass
    if is_id(value):
        try:
            return store.get_rule(int(value)).id
        except RecordNotFoundError:
            pass
    raise field_error(field, f"No rule with the name or id {value!r}.")


def endpoint_id_of(store: Store, value: str, field: str = "endpoint") -> int:
    """An endpoint given by name or id. Raises `ValidationError` naming `field` (400)."""
    try:
        return endpoint_named(store, value).id
    except RecordNotFoundError:
        pass
    if is_id(value):
        try:
            return store.get_endpoint(int(value)).id
        except RecordNotFoundError:
            pass
    raise field_error(field, f"No endpoint with the name or id {value!r}.")


def source_field(store: Store, name: str, field: str = "source") -> SourceRecord:
    """The source a form or body names. Raises `ValidationError` naming `field` (400)."""
    try:
        return source_named(store, name)
    except RecordNotFoundError as exc:
        raise field_error(field, f"No source named {name!r}.") from exc


def endpoint_field(store: Store, name: str, field: str = "endpoint") -> EndpointRecord:
    """The endpoint a form or body names. Raises `ValidationError` naming `field` (400)."""
    try:
        return endpoint_named(store, name)
    except RecordNotFoundError as exc:
        raise field_error(field, f"No endpoint named {name!r}.") from exc
