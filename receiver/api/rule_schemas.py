"""Schemas of replication rules (DESIGN, data model)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from receiver.api.fields import (
    NAMESPACE_PATTERN,
    PROJECT_PATTERN,
    ApiSchema,
    Pattern,
    Text,
    name_field,
    validate_schedule,
)
from receiver.api.schemas import EndpointCreateSchema, endpoint_create
from receiver.services.names import NAME_RE
from shared.errors import ConfigurationError
from shared.filters import check_new_pattern
from shared.store import FilterDecision

_MAX_FILTERS = 50


def _valid_glob(pattern: str) -> None:
    try:
        check_new_pattern(pattern)
    except ConfigurationError as exc:
        raise ValidationError(str(exc)) from exc


class FilterSchema(ApiSchema):
    """A Harbor-style glob (``*``, ``**``, ``?``, ``{a,b}``) that keeps or drops names."""

    pattern = Text(required=True, validate=[validate.Length(min=1, max=255), _valid_glob])
    decision = fields.Enum(FilterDecision, by_value=True, load_default=FilterDecision.MATCHES)


class EndpointRef(fields.Field[Any]):
    """An existing endpoint's name, or an endpoint object to create with the rule."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(metadata={"one_of": [fields.String(), EndpointCreateSchema],
                                   "description": "An endpoint's name, or a new endpoint "
                                                  "to create along with the rule"}, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            if not NAME_RE.fullmatch(value):
                raise ValidationError(f"No endpoint can be named {value!r}.")
            return value
        if isinstance(value, dict):
            return endpoint_create.load(value)
        raise ValidationError("Give an endpoint name, or an endpoint object to create.")


def _filters() -> fields.List[Any]:
    return fields.List(fields.Nested(FilterSchema), validate=validate.Length(max=_MAX_FILTERS))


class RulePatchSchema(ApiSchema):
    name = name_field()
    description = Text(validate=validate.Length(max=2000))
    enabled = fields.Boolean(metadata={"description": "Enabling starts an initial sync"})
    source = name_field(metadata={"description": "The source's name"})
    project = Text(validate=[validate.Length(max=255), Pattern(PROJECT_PATTERN)],
                   metadata={"description": "The project (first path segment) to replicate"})
    endpoint = EndpointRef()
    repo_filters = _filters()
    tag_filters = _filters()
    dest_namespace = Text(allow_none=True, validate=[
        validate.Length(max=255), Pattern(NAMESPACE_PATTERN)],
        metadata={"description": "Where the project lands on the endpoint (null: same name)"})
    replicate_deletes = fields.Boolean()
    override = fields.Boolean()
    copy_referrers = fields.Boolean()
    schedule = Text(allow_none=True, validate=[validate.Length(max=255), validate_schedule],
                    metadata={"description": "Five-field cron for a periodic resync (UTC)"})
    prune = fields.Boolean()


class RuleCreateSchema(RulePatchSchema):
    name = name_field(required=True)
    description = Text(validate=validate.Length(max=2000), load_default="")
    enabled = fields.Boolean(load_default=True,
                             metadata={"description": "Enabled rules start an initial sync"})
    source = name_field(required=True, metadata={"description": "The source's name"})
    project = Text(required=True,
                   validate=[validate.Length(max=255), Pattern(PROJECT_PATTERN)])
    endpoint = EndpointRef(required=True)
    repo_filters = fields.List(fields.Nested(FilterSchema), load_default=list,
                               validate=validate.Length(max=_MAX_FILTERS))
    tag_filters = fields.List(fields.Nested(FilterSchema), load_default=list,
                              validate=validate.Length(max=_MAX_FILTERS))
    replicate_deletes = fields.Boolean(load_default=True)
    override = fields.Boolean(load_default=True)
    copy_referrers = fields.Boolean(load_default=True)
    prune = fields.Boolean(load_default=False)


class FilterOutSchema(Schema):
    pattern = fields.String()
    decision = fields.Enum(FilterDecision, by_value=True)


class RuleSchema(Schema):
    """A rule as answered; ``execution_id`` only when the request started one."""

    id = fields.Integer()
    name = fields.String()
    description = fields.String()
    enabled = fields.Boolean()
    source = fields.String()
    project = fields.String()
    endpoint = fields.String()
    repo_filters = fields.List(fields.Nested(FilterOutSchema))
    tag_filters = fields.List(fields.Nested(FilterOutSchema))
    dest_namespace = fields.String(allow_none=True)
    replicate_deletes = fields.Boolean()
    override = fields.Boolean()
    copy_referrers = fields.Boolean()
    schedule = fields.String(allow_none=True)
    prune = fields.Boolean()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    execution_id = fields.Integer(metadata={"description": "The execution this request "
                                                           "started"})
    warning = fields.String(metadata={"description": "Set when the execution's job could "
                                                     "not be queued"})


class RuleListSchema(Schema):
    items = fields.List(fields.Nested(RuleSchema))


rule_create = RuleCreateSchema()
rule_patch = RulePatchSchema()
rule_out = RuleSchema()
