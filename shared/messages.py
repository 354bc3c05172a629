"""Queue messages: frozen dataclasses, one marshmallow schema each, JSON bytes on the wire.

The same schema encodes and decodes, so the two can never drift apart. Decoding
ignores unknown keys (a newer receiver may add fields) and turns anything
malformed into `MessageDecodeError`, which the consumer parks at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate

from shared.errors import InvalidReferenceError, PermanentError
from shared.grammar import is_valid_digest, is_valid_repository, is_valid_tag


class MessageDecodeError(PermanentError):
    """A queue message is not valid JSON or does not match its schema."""


class JobAction(StrEnum):
    REPLICATE = "replicate"
    DELETE = "delete"
    SYNC = "sync"


@dataclass(frozen=True)
class JobMessage:
    """One queued job: one action for one image, one rule and one endpoint.

    `endpoint` is the endpoint's name, used for queue routing and logs; the
    consumer loads everything else about the endpoint by `endpoint_id`.
    Replicate and delete jobs name a tag, a digest or both; a sync job may name
    neither (the whole repository).

    Raises `InvalidReferenceError` for a repository, tag or digest outside the OCI
    grammar and `ValueError` for other inconsistencies.
    """

    job_id: int
    action: JobAction
    rule_id: int
    endpoint_id: int
    endpoint: str
    source_id: int
    repository: str
    created_at: datetime
    tag: str | None = None
    digest: str | None = None
    execution_id: int | None = None

    def __post_init__(self) -> None:
        if not is_valid_repository(self.repository):
            raise InvalidReferenceError(f"invalid repository name: {self.repository!r}")
        if self.tag is not None and not is_valid_tag(self.tag):
            raise InvalidReferenceError(f"invalid tag: {self.tag!r}")
        if self.digest is not None and not is_valid_digest(self.digest):
            raise InvalidReferenceError(f"invalid digest: {self.digest!r}")
        if self.action is not JobAction.SYNC and self.tag is None and self.digest is None:
            raise ValueError(f"a {self.action} job needs a tag or a digest")
        if self.created_at.utcoffset() is None:
            raise ValueError("created_at must be timezone-aware")
        if not self.endpoint:
            raise ValueError("endpoint name must not be empty")


def _grammar(check: Callable[[str], bool], what: str) -> Callable[[str], None]:
    def validator(value: str) -> None:
        if not check(value):
            raise ValidationError(f"Not a valid {what}.")

    return validator


class JobMessageSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    job_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    action = fields.Enum(JobAction, by_value=True, required=True)
    rule_id = fields.Integer(required=True, strict=True)
    endpoint_id = fields.Integer(required=True, strict=True)
    endpoint = fields.String(required=True, validate=validate.Length(min=1, max=255))
    source_id = fields.Integer(required=True, strict=True)
    repository = fields.String(required=True, validate=_grammar(is_valid_repository, "repository"))
    tag = fields.String(allow_none=True, load_default=None, validate=_grammar(is_valid_tag, "tag"))
    digest = fields.String(
        allow_none=True, load_default=None, validate=_grammar(is_valid_digest, "digest")
    )
    execution_id = fields.Integer(allow_none=True, load_default=None, strict=True)
    created_at = fields.AwareDateTime(required=True)

    @post_load
    def _make(self, data: dict[str, Any], **_kwargs: Any) -> JobMessage:
        try:
            return JobMessage(**data)
        except (ValueError, InvalidReferenceError) as exc:
            raise ValidationError(str(exc)) from exc


job_message_schema = JobMessageSchema()


def encode(message: JobMessage) -> bytes:
    """The message as compact UTF-8 JSON."""
    payload = job_message_schema.dump(message)
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def decode(data: bytes) -> JobMessage:
    """Parse a message body. Raises `MessageDecodeError` for anything malformed."""
    try:
        payload = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise MessageDecodeError(f"message body is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise MessageDecodeError("message body is not a JSON object")
    try:
        message: JobMessage = job_message_schema.load(payload)
    except ValidationError as exc:
        raise MessageDecodeError(f"invalid job message: {exc.messages}") from exc
    return message
