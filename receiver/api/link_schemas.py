"""Schemas of registry links and two-way pairs (DESIGN invariant 3).

A link names its source and endpoint by name, in input and in answers, as rules
do. A pair is named by its two rule ids, lower first (``3-7``).
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate

from receiver.api.fields import ApiSchema, Pattern, Text, name_field


def warnings_field() -> fields.List[Any]:
    """``warnings`` of an answer: set when the change leaves something to fix."""
    return fields.List(fields.String(), metadata={
        "description": "What looks wrong after this change (for example two registries "
                       "that look alike but are not linked); only when there is something"})


def _account_field() -> Text:
    return Text(allow_none=True, validate=[
        validate.Length(max=255),
        Pattern(r"^[^\s\x00-\x1f\x7f]+$", error="Give the account's name, without spaces."),
    ], metadata={"description": "Harbor: the account crossdock writes to this registry with "
                                "(Harbor's webhooks name only the account); null: none"})


class LinkPatchSchema(ApiSchema):
    harbor_account = _account_field()

    @pre_load
    def _refuse_registries(self, data: Any, **_kwargs: Any) -> Any:
        if isinstance(data, dict):
            fixed = {key: ["A link's source and endpoint cannot change: delete the link and "
                           "create another."] for key in ("source", "endpoint") if key in data}
            if fixed:
                raise ValidationError(fixed)
        return data


class LinkCreateSchema(ApiSchema):
    source = name_field(required=True, metadata={"description": "The source's name"})
    endpoint = name_field(required=True, metadata={
        "description": "The endpoint's name: the same registry as the source"})
    harbor_account = _account_field()


class LinkSchema(Schema):
    """Source and endpoint are one registry."""

    id = fields.Integer()
    source = fields.String()
    endpoint = fields.String()
    harbor_account = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    warnings = warnings_field()


class LinkListSchema(Schema):
    items = fields.List(fields.Nested(LinkSchema))


class PairRuleSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    source = fields.String()
    endpoint = fields.String()
    project = fields.String()


class PairRegistrySchema(Schema):
    """One registry of a pair: the source of the rule at the same index, linked with the
    endpoint of the other rule."""

    source = fields.String()
    endpoint = fields.String()


class PreferredSchema(Schema):
    """The rule whose source wins a conflict (a tag changed on both sides since the last
    sync)."""

    rule = fields.String()
    rule_id = fields.Integer()
    source = fields.String(metadata={"description": "The registry that wins, as a source"})
    default = fields.Boolean(metadata={"description": "True: no operator chose; the first "
                                                     "rule's source wins"})


class PairSchema(Schema):
    """Two opposite rules over linked registries: two-way sync of one project."""

    id = fields.String(metadata={"description": "The two rule ids, lower first: 3-7"})
    rules = fields.List(fields.Nested(PairRuleSchema))
    registries = fields.List(fields.Nested(PairRegistrySchema))
    preferred = fields.Nested(PreferredSchema)


class PairListSchema(Schema):
    items = fields.List(fields.Nested(PairSchema))


class PreferenceSchema(ApiSchema):
    rule = name_field(required=True, metadata={
        "description": "The name of one of the pair's rules: its source wins conflicts"})


link_create = LinkCreateSchema()
link_patch = LinkPatchSchema()
link_out = LinkSchema()
pair_out = PairSchema()
preference = PreferenceSchema()
