"""The rule form: its fields as the API's rule shape, a rule as the form's values,
and the schema's field errors back onto the form's fields (pure, no I/O).

The form is flat (``endpoint_url``, ``repo_filters`` one glob a line, ``!glob`` to
exclude); the API's rule is nested (``endpoint`` a name or an object,
``repo_filters`` a list of ``{pattern, decision}``). The schema validates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from werkzeug.datastructures import MultiDict

from receiver.console.forms import form_values
from shared.store import FilterDecision, RuleFilter, RuleRecord

CHECKBOXES = ("enabled", "new_endpoint", "endpoint_verify_tls", "replicate_deletes",
              "override", "copy_referrers", "prune")
FILTERS = ("repo_filters", "tag_filters")
#: Blank means "none" (null) for these; the form sends them even when blank.
NULLABLE = ("dest_namespace", "schedule")
#: The new endpoint's fields, by the endpoint object's field names.
ENDPOINT_FIELDS = ("name", "url", "username", "password", "verify_tls", "ca_bundle")
EXCLUDE = "!"

#: What a new rule's form starts with: the schema's defaults.
NEW_RULE = {"enabled": True, "endpoint_verify_tls": True, "replicate_deletes": True,
            "override": True, "copy_referrers": True, "prune": False}


def posted_values(form: MultiDict[str, str]) -> dict[str, Any]:
    """The form as posted: text stripped, boxes as booleans, filters as lines."""
    return form_values(form, checkboxes=CHECKBOXES, lists=FILTERS, keep_blank=NULLABLE)


def rule_data(values: Mapping[str, Any], source: str, project: str) -> dict[str, Any]:
    """The API's rule body for the form's `values`, in `source`'s `project`."""
    data: dict[str, Any] = {"source": source, "project": project}
    for name in ("name", "description", "enabled", "replicate_deletes", "override",
                 "copy_referrers", "prune"):
        if name in values:
            data[name] = values[name]
    for name in NULLABLE:
        if name in values:
            data[name] = values[name] or None
    for name in FILTERS:
        data[name] = [_filter(line) for line in values.get(name, [])]
    data["endpoint"] = endpoint_ref(values)
    return data


def endpoint_ref(values: Mapping[str, Any]) -> str | dict[str, Any]:
    """The rule's endpoint: an existing one's name, or the new endpoint's fields."""
    if not values.get("new_endpoint"):
        return str(values.get("endpoint", ""))
    ref: dict[str, Any] = {}
    for name in ENDPOINT_FIELDS:
        key = f"endpoint_{name}"
        if key in values:
            ref[name] = values[key]
    ref.setdefault("verify_tls", False)
    return ref


def ping_data(values: Mapping[str, Any], project: str) -> dict[str, Any]:
    """Test Connection's body (`ping_in`'s shape) for the form's endpoint, checking
    push rights in the project the rule writes to."""
    destination = str(values.get("dest_namespace") or project).split("/", 1)[0]
    ref = endpoint_ref(values)
    if isinstance(ref, str):
        return {"name": ref, "project": destination}
    ref.pop("name", None)
    return {**ref, "project": destination}


def _filter(line: str) -> dict[str, str]:
    if line.startswith(EXCLUDE):
        return {"pattern": line[len(EXCLUDE):].strip(), "decision": FilterDecision.EXCLUDES.value}
    return {"pattern": line, "decision": FilterDecision.MATCHES.value}


def filter_lines(filters: tuple[RuleFilter, ...]) -> str:
    """Filters as the form's lines (``!`` before an excluding glob)."""
    return "\n".join(f"{EXCLUDE if item.decision == FilterDecision.EXCLUDES else ''}"
                     f"{item.pattern}" for item in filters)


def rule_values(rule: RuleRecord, endpoint: str) -> dict[str, Any]:
    """A stored rule as the form's values (its endpoint by name)."""
    return {"name": rule.name, "description": rule.description, "enabled": rule.enabled,
            "endpoint": endpoint, "new_endpoint": False,
            "repo_filters": filter_lines(rule.repo_filters),
            "tag_filters": filter_lines(rule.tag_filters),
            "dest_namespace": rule.dest_namespace or "", "schedule": rule.schedule or "",
            "replicate_deletes": rule.replicate_deletes, "override": rule.override,
            "copy_referrers": rule.copy_referrers, "prune": rule.prune}


def shown_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Posted values as the form shows them again: filters back to lines, and never
    the password."""
    shown = {name: value for name, value in values.items() if name != "endpoint_password"}
    for name in FILTERS:
        if isinstance(shown.get(name), list):
            shown[name] = "\n".join(shown[name])
    return shown


def form_field(error_key: str) -> str:
    """The form field a schema error's key belongs to: ``endpoint.url`` is
    ``endpoint_url``, ``repo_filters.0.pattern`` is ``repo_filters``, a message about
    the project or source is about the form as a whole."""
    head, _, rest = error_key.partition(".")
    if head == "endpoint" and rest:
        return f"endpoint_{rest.split('.', 1)[0]}"
    if head in FILTERS:
        return head
    if head in ("source", "project"):
        return "_form"
    if head in ("url", "username", "password", "verify_tls", "ca_bundle"):
        return f"endpoint_{head}"  # Test Connection's fields
    return head


def on_form_fields(errors: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Schema errors keyed by the form's fields."""
    mapped: dict[str, list[str]] = {}
    for key, messages in errors.items():
        mapped.setdefault(form_field(key), []).extend(messages)
    return mapped
