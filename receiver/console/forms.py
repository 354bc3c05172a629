"""Forms: from posted fields to the API's shapes, and field errors back to the form.

The console validates nothing itself: it turns a form into the dict the API's
marshmallow schema takes (`form_values`), lets the schema (through the services)
refuse it, and shows the `ValidationError`'s messages next to their fields
(`FormState.from_error`). The template macros in ``console/macros/forms.html``
read a `FormState`: the values typed (never a password) and each field's errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from receiver.console.csrf import FIELD as CSRF_FIELD


@dataclass
class FormState:
    """What a form shows: the values typed and the errors of each field.

    Errors are keyed by field name (nested fields joined with dots, as in
    ``filters.0.pattern``); ``_form`` holds errors about the form as a whole.
    """

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_error(cls, values: Mapping[str, Any], error: ValidationError) -> FormState:
        return cls(dict(values), field_errors(error))

    def value(self, name: str, default: Any = "") -> Any:
        found = self.values.get(name)
        return default if found is None else found

    def errors_for(self, name: str) -> list[str]:
        return self.errors.get(name, [])

    def add_error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors)


def field_errors(error: ValidationError) -> dict[str, list[str]]:
    """marshmallow's (possibly nested) messages as ``{"a.b": ["…"]}``."""
    flat: dict[str, list[str]] = {}
    _flatten(error.normalized_messages(), "", flat)  # type: ignore[no-untyped-call]
    return flat


def _flatten(messages: Any, prefix: str, into: dict[str, list[str]]) -> None:
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            _flatten(value, f"{prefix}.{key}" if prefix else str(key), into)
    elif isinstance(messages, list) and all(isinstance(item, str) for item in messages):
        into.setdefault(prefix or "_form", []).extend(messages)
    elif isinstance(messages, list):
        for item in messages:
            _flatten(item, prefix, into)
    else:
        into.setdefault(prefix or "_form", []).append(str(messages))


def form_values(
    form: MultiDict[str, str],
    *,
    checkboxes: Iterable[str] = (),
    lists: Iterable[str] = (),
    keep_blank: Iterable[str] = (),
) -> dict[str, Any]:
    """The posted fields as the API's body: text stripped, blank fields left out
    (so the schema's defaults apply) unless named in `keep_blank`, each of
    `checkboxes` True when sent and False when not (browsers send nothing for an
    unticked box), each of `lists` one item per non-blank line. The CSRF token is
    not a value."""
    checkbox_names, list_names, blank_ok = set(checkboxes), set(lists), set(keep_blank)
    values: dict[str, Any] = {}
    for name in form:
        if name == CSRF_FIELD or name in checkbox_names:
            continue
        if name in list_names:
            values[name] = [line.strip() for raw in form.getlist(name)
                            for line in raw.splitlines() if line.strip()]
            continue
        text = form.get(name, "").strip()
        if text or name in blank_ok:
            values[name] = text
    for name in checkbox_names:
        values[name] = name in form
    return values
