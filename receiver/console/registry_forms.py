"""The endpoint and source forms as the API's shapes (pure).

Both forms hold a registry's connection fields (url, kind, username, password,
verify_tls, ca_bundle). On a new record a blank field is left out (the schema's
default applies). On an edit, a blank password keeps the stored one, and a blank
username or CA bundle removes it (a blank username removes the password too).
"""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict

from receiver.console.forms import form_values

CHECKBOXES = ("verify_tls",)
#: Fields an edit sends blank to remove their value.
CLEARABLE = ("username", "ca_bundle")
#: Fields of the endpoint form for Test Connection only, not saved.
TEST_ONLY = ("project",)


def create_values(form: MultiDict[str, str]) -> dict[str, Any]:
    """A create form in `EndpointCreateSchema`'s / `SourceCreateSchema`'s shape."""
    values = form_values(form, checkboxes=CHECKBOXES)
    for name in TEST_ONLY:
        values.pop(name, None)
    return values


def patch_values(form: MultiDict[str, str]) -> dict[str, Any]:
    """An edit form in the PATCH schemas' shape (no name: it cannot change)."""
    values = form_values(form, checkboxes=CHECKBOXES, keep_blank=CLEARABLE)
    for name in ("name", *TEST_ONLY):
        values.pop(name, None)
    for name in CLEARABLE:
        if values.get(name) == "":
            values[name] = None
    if "username" in values and values["username"] is None:
        values["password"] = None
    return values


def ping_values(form: MultiDict[str, str], stored: str | None) -> dict[str, Any]:
    """An endpoint form in `PingSchema`'s shape: the `stored` endpoint's settings (by
    name) overridden by what the form holds; blank fields keep the stored values."""
    values = form_values(form, checkboxes=CHECKBOXES)
    values.pop("name", None)
    if stored is not None:
        values["name"] = stored
    return values


def record_values(record: Any) -> dict[str, Any]:
    """A stored endpoint's or source's fields as an edit form shows them first."""
    return {"kind": record.kind.value, "url": record.url, "username": record.username or "",
            "verify_tls": record.verify_tls, "ca_bundle": record.ca_bundle or ""}
