"""What every API module shares: reading bodies and query strings through a schema,
answering JSON, and the `describe` decorator the OpenAPI document is built from."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Response, jsonify, request
from marshmallow import Schema, ValidationError

from receiver.api.fields import ApiSchema
from receiver.bodies import read_body
from receiver.errors import error_response
from receiver.services.names import MAX_INT

F = TypeVar("F", bound=Callable[..., Any])

#: The URL converter for ids, bounded as the databases store them (`MAX_INT`).
ID = f"int(max={MAX_INT})"


class EmptySchema(ApiSchema):
    """No fields: the body may be empty or ``{}``."""


empty = EmptySchema()


def load_body(schema: Schema, *, partial: bool = False, empty_ok: bool = False) -> dict[str, Any]:
    """The JSON body loaded through `schema`.

    Any content type is read as JSON. Raises `ValidationError` (400 with the field
    errors) for a body that is not a JSON object or breaks the schema; an empty
    body counts as ``{}`` when `empty_ok`.
    """
    raw = read_body(cache=True)
    if not raw.strip() and empty_ok:
        data: Any = {}
    else:
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise ValidationError({"_body": ["The body is not valid JSON."]}) from exc
    if not isinstance(data, dict):
        raise ValidationError({"_body": ["The body must be a JSON object."]})
    loaded: dict[str, Any] = schema.load(data, partial=partial)
    return loaded


def load_query(schema: Schema) -> dict[str, Any]:
    """The query string loaded through `schema` (repeated keys: the first value)."""
    loaded: dict[str, Any] = schema.load(request.args.to_dict(flat=True))
    return loaded


def answer(payload: Mapping[str, Any] | list[Any], status: int = 200) -> Response:
    response = jsonify(payload)
    response.status_code = status
    return response


def unavailable(message: str, **extra: Any) -> Response:
    """503 for a broker that did not take a message (whatever the broker's reason)."""
    response = error_response(503, "unavailable", message, **extra)
    response.headers["Retry-After"] = "5"
    return response


@dataclass(frozen=True)
class Operation:
    """How an operation appears in the OpenAPI document."""

    summary: str
    body: Schema | None = None
    query: Schema | None = None
    response: Schema | None = None
    status: int = 200
    errors: tuple[int, ...] = ()


def describe(
    summary: str,
    *,
    body: Schema | None = None,
    query: Schema | None = None,
    response: Schema | None = None,
    status: int = 200,
    errors: tuple[int, ...] = (),
) -> Callable[[F], F]:
    """Attach an `Operation` to a view; `receiver.api.openapi` reads it back."""

    def decorate(view: F) -> F:
        view.__dict__["openapi"] = Operation(summary, body, query, response, status, errors)
        return view

    return decorate


def operation_of(view: Callable[..., Any]) -> Operation | None:
    found = getattr(view, "openapi", None)
    return found if isinstance(found, Operation) else None
