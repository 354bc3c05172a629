"""Finding records by the names in URLs, or by name or id in query strings."""

from __future__ import annotations

from receiver.api.common import MAX_INT, field_error
from receiver.api.fields import NAME_RE
from receiver.app import services
from shared.store import EndpointRecord, RecordNotFoundError, RuleRecord, SourceRecord


def _check(what: str, name: str) -> None:
    # A name no record can have is answered before it reaches the database.
    if not NAME_RE.fullmatch(name):
        raise RecordNotFoundError(f"no {what} named {name!r}")


def endpoint_named(name: str) -> EndpointRecord:
    """Raises `RecordNotFoundError` (404)."""
    _check("endpoint", name)
    return services().store.get_endpoint_by_name(name)


def source_named(name: str) -> SourceRecord:
    """Raises `RecordNotFoundError` (404)."""
    _check("source", name)
    return services().store.get_source_by_name(name)


def rule_named(name: str) -> RuleRecord:
    """Raises `RecordNotFoundError` (404)."""
    _check("rule", name)
    return services().store.get_rule_by_name(name)


def rule_id_of(value: str, field: str = "rule") -> int:
    """A rule given by name or id in a query string. Raises `ValidationError` (400)."""
    store = services().store
    try:
        return rule_named(value).id
    except RecordNotFoundError:
        pass
    if value.isdecimal() and value.isascii() and int(value) <= MAX_INT:
        try:
            return store.get_rule(int(value)).id
        except RecordNotFoundError:
            pass
    raise field_error(field, f"No rule with the name or id {value!r}.")


def endpoint_id_of(value: str, field: str = "endpoint") -> int:
    """An endpoint given by name or id in a query string. Raises `ValidationError` (400)."""
    store = services().store
    try:
        return endpoint_named(value).id
    except RecordNotFoundError:
        pass
    if value.isdecimal() and value.isascii() and int(value) <= MAX_INT:
        try:
            return store.get_endpoint(int(value)).id
        except RecordNotFoundError:
            pass
    raise field_error(field, f"No endpoint with the name or id {value!r}.")
