"""Schemas of endpoints and sources: what the API takes and what it answers.

Passwords and webhook secrets are write-only (``load_only``): answers say
``has_password`` / ``has_webhook_secret`` instead.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from receiver.api.fields import (
    SECRET_PATTERN,
    ApiSchema,
    Pattern,
    RegistryUrl,
    Text,
    ca_bundle_field,
    name_field,
)
from shared.store import EndpointKind, SourceKind

_USERNAME = validate.Length(min=1, max=255)
_PASSWORD = validate.Length(min=1, max=4096)


class _Immutable:
    """For PATCH schemas: a body that names the record is refused with a clear reason."""

    immutable_reason = "The name cannot change."

    @pre_load
    def _refuse_name(self, data: Any, **_kwargs: Any) -> Any:
        if isinstance(data, dict) and "name" in data:
            raise ValidationError({"name": [self.immutable_reason]})
        return data


class RegistryFieldsSchema(ApiSchema):
    """How to reach a registry: shared by endpoints, sources and Test Connection."""

    url = RegistryUrl()
    username = Text(allow_none=True, validate=_USERNAME)
    password = Text(allow_none=True, load_only=True, validate=_PASSWORD)
    verify_tls = fields.Boolean()
    ca_bundle = ca_bundle_field()


class EndpointPatchSchema(_Immutable, RegistryFieldsSchema):
    immutable_reason = "The name cannot change: the endpoint's queue names derive from it."

    kind = fields.Enum(EndpointKind, by_value=True)


class EndpointCreateSchema(RegistryFieldsSchema):
    name = name_field(required=True)
    kind = fields.Enum(EndpointKind, by_value=True, load_default=EndpointKind.REGISTRY)
    url = RegistryUrl(required=True)
    verify_tls = fields.Boolean(load_default=True)


class EndpointSchema(Schema):
    """An endpoint as answered."""

    id = fields.Integer()
    name = fields.String()
    kind = fields.Enum(EndpointKind, by_value=True)
    url = fields.String()
    username = fields.String(allow_none=True)
    has_password = fields.Boolean()
    verify_tls = fields.Boolean()
    ca_bundle = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


def _secret_field() -> Text:
    return Text(load_only=True, validate=Pattern(
        SECRET_PATTERN, error="Use 16-256 printable ASCII characters without spaces."),
        metadata={"description": "Sent by the registry as `Authorization: Bearer <secret>`; "
                                 "generated when not given"})


class SourcePatchSchema(_Immutable, RegistryFieldsSchema):
    immutable_reason = "The name cannot change: the registry's webhook URL contains it."

    kind = fields.Enum(SourceKind, by_value=True)
    webhook_secret = _secret_field()
    regenerate_webhook_secret = fields.Boolean(load_only=True, metadata={
        "description": "Generate a new webhook secret (shown once in the answer)"})

    @validates_schema
    def _secret_or_regenerate(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("regenerate_webhook_secret") and "webhook_secret" in data:
            raise ValidationError("Give a webhook_secret or regenerate one, not both.",
                                  "regenerate_webhook_secret")


class SourceCreateSchema(RegistryFieldsSchema):
    name = name_field(required=True)
    kind = fields.Enum(SourceKind, by_value=True, required=True)
    url = RegistryUrl(required=True)
    verify_tls = fields.Boolean(load_default=True)
    webhook_secret = _secret_field()


class NotificationSetupSchema(Schema):
    """What to configure on the source registry so it notifies crossdock."""

    instructions = fields.String()
    webhook_url = fields.String()
    config_yml = fields.String(metadata={"description": "Distribution: the notifications "
                                                       "block for the registry's config.yml"})
    request = fields.String(metadata={"description": "Harbor: the API call to make"})
    body = fields.Dict(metadata={"description": "Harbor: the webhook policy to send"})


class SourceSchema(Schema):
    """A source as answered. ``webhook_secret`` appears only in the answer to the
    request that set it."""

    id = fields.Integer()
    name = fields.String()
    kind = fields.Enum(SourceKind, by_value=True)
    url = fields.String()
    username = fields.String(allow_none=True)
    has_password = fields.Boolean()
    verify_tls = fields.Boolean()
    ca_bundle = fields.String(allow_none=True)
    has_webhook_secret = fields.Boolean()
    webhook_secret = fields.String()
    notification = fields.Nested(NotificationSetupSchema)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


endpoint_create = EndpointCreateSchema()
endpoint_patch = EndpointPatchSchema()
endpoint_out = EndpointSchema()
source_create = SourceCreateSchema()
source_patch = SourcePatchSchema()
source_out = SourceSchema()
