"""Marshmallow schemas as OpenAPI 3.0 schema objects (a small converter of our own).

Covers the fields and validators the API uses. Request bodies are converted in
``load`` mode (dump-only fields left out, ``required`` listed), answers in
``dump`` mode (load-only fields, such as passwords, left out).
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from marshmallow import Schema, fields, validate

Mode = Literal["load", "dump"]


class Components:
    """Collects named component schemas while converting; one per schema class and mode."""

    def __init__(self) -> None:
        self.schemas: dict[str, dict[str, Any]] = {}
        self._names: dict[tuple[type[Schema], Mode], str] = {}

    def ref(self, schema: Schema | type[Schema], mode: Mode) -> dict[str, Any]:
        """A ``$ref`` to the component for `schema`, converting it on first use."""
        cls = schema if isinstance(schema, type) else type(schema)
        key = (cls, mode)
        if key not in self._names:
            base = cls.__name__.removesuffix("Schema") or cls.__name__
            name = base if base not in self.schemas else f"{base}{mode.title()}"
            self._names[key] = name
            self.schemas[name] = {}  # reserve the name (recursive schemas)
            self.schemas[name] = self.object(cls(), mode)
        return {"$ref": f"#/components/schemas/{self._names[key]}"}

    def object(self, schema: Schema, mode: Mode) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        required: list[str] = []
        for name, field in schema.fields.items():
            if (mode == "load" and field.dump_only) or (mode == "dump" and field.load_only):
                continue
            key = field.data_key or name
            properties[key] = self.field(field, mode)
            if mode == "load" and field.required:
                required.append(key)
        result: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            result["required"] = required
        if mode == "load":
            result["additionalProperties"] = False
        if schema.__doc__ and schema.__doc__ != Schema.__doc__:
            result["description"] = " ".join(schema.__doc__.split())
        return result

    def field(self, field: fields.Field[Any], mode: Mode) -> dict[str, Any]:
        """One field: its type, then what its validators and metadata add."""
        result = self._type(field, mode)
        for validator in field.validators:
            result.update(_constraint(validator, result.get("type")))
        metadata = field.metadata
        for key in ("description", "format", "pattern"):
            if key in metadata and key not in result:
                result[key] = metadata[key]
        if field.allow_none:
            result["nullable"] = True
        default = field.load_default
        if mode == "load" and isinstance(default, bool | int | str | Enum):
            result["default"] = default.value if isinstance(default, Enum) else default
        if mode == "load" and callable(default) and default is list:
            result["default"] = []
        return result

    def _type(self, field: fields.Field[Any], mode: Mode) -> dict[str, Any]:
        if isinstance(field, fields.Nested):
            nested = field.nested
            target = nested if isinstance(nested, Schema | type) else None
            if target is None:
                return {"type": "object"}
            return self.ref(target, mode)
        if isinstance(field, fields.List):
            return {"type": "array", "items": self.field(field.inner, mode)}
        if isinstance(field, fields.Enum):
            return {"type": "string", "enum": [str(m.value) for m in field.enum]}
        if isinstance(field, fields.Boolean):
            return {"type": "boolean"}
        if isinstance(field, fields.Integer):
            return {"type": "integer"}
        if isinstance(field, fields.Number):
            return {"type": "number"}
        if isinstance(field, fields.DateTime):
            return {"type": "string", "format": "date-time"}
        if isinstance(field, fields.String):
            return {"type": "string"}
        if isinstance(field, fields.Dict):
            return {"type": "object"}
        choices = field.metadata.get("one_of")
        if choices:
            return {"oneOf": [self._choice(choice, mode) for choice in choices]}
        return {}

    def _choice(self, choice: Any, mode: Mode) -> dict[str, Any]:
        if isinstance(choice, fields.Field):
            return self.field(choice, mode)
        return self.ref(choice, mode)


def _constraint(validator: Any, kind: Any) -> dict[str, Any]:
    if isinstance(validator, validate.Length):
        low, high = ("minItems", "maxItems") if kind == "array" else ("minLength", "maxLength")
        found = {low: validator.min, high: validator.max}
        if validator.equal is not None:
            found = {low: validator.equal, high: validator.equal}
        return {key: value for key, value in found.items() if value is not None}
    if isinstance(validator, validate.Range):
        found = {"minimum": validator.min, "maximum": validator.max}
        return {key: value for key, value in found.items() if value is not None}
    if isinstance(validator, validate.Regexp):
        return {"pattern": validator.regex.pattern}
    if isinstance(validator, validate.OneOf):
        return {"enum": list(validator.choices)}
    return {}
