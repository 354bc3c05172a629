"""Field types and validators of the API's schemas.

Every string the API takes goes through `Text`, which refuses what the
databases cannot store (NUL, lone surrogates) with a field error instead of a
500 from the driver.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from receiver.services.names import NAME_PATTERN
from shared.cron import CronSyntaxError, next_after

#: A Harbor project / first repository component (the OCI component grammar).
PROJECT_PATTERN = r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$"
#: A destination namespace: one or more components.
NAMESPACE_PATTERN = (
    r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$"
)
#: Webhook secrets go verbatim into an ``Authorization`` header.
SECRET_PATTERN = r"^[\x21-\x7e]{16,256}$"  # noqa: S105 - a pattern, not a secret


class Pattern(validate.Regexp):
    """`validate.Regexp` on the whole value: ``$`` alone would let a trailing
    newline through (``re.match``), into names, headers and queue messages."""

    def __call__(self, value: Any) -> Any:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


class ApiSchema(Schema):
    """Base of the API's input schemas: unknown fields are refused (typos show)."""

    class Meta:
        unknown = RAISE


class Text(fields.String):
    """A string without NUL characters or lone surrogates."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ValidationError("NUL characters are not allowed.")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValidationError("Not valid Unicode text.") from exc
        return text


def name_field(**kwargs: Any) -> Text:
    return Text(validate=Pattern(
        NAME_PATTERN, error="Use 1-63 lower-case letters, digits and . _ - "
                            "(starting with a letter or digit)."), **kwargs)


class RegistryUrl(Text):
    """``http(s)://host[:port]`` without a path; loaded without a trailing slash."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"format": "uri", "pattern": r"^https?://[^/?#@\s]+/?$",
                    **kwargs.pop("metadata", {})}
        super().__init__(validate=validate.Length(max=2048), metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            parts = urlsplit(text)
            port_ok = parts.port is None or parts.port > 0
        except ValueError as exc:
            raise ValidationError("Not a valid URL.") from exc
        if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
            raise ValidationError("Use http://host[:port] or https://host[:port].")
        if parts.path not in ("", "/") or parts.query or parts.fragment or "?" in text:
            raise ValidationError("Give the registry's base URL, without a path or query.")
        if "@" in parts.netloc or any(c.isspace() for c in text):
            raise ValidationError("Credentials and spaces do not belong in the URL.")
        return f"{parts.scheme}://{parts.netloc}"


def ca_bundle_field() -> Text:
    return Text(allow_none=True, validate=Pattern(
        r"^/[^\n\r]{0,4095}$", error="Give the absolute path of a PEM file."),
        metadata={"description": "Path of a PEM CA bundle on the receiver's and "
                                 "consumers' hosts"})


def validate_schedule(value: str) -> None:
    """A five-field cron expression that fires at least once."""
    try:
        upcoming = next_after(value, datetime.now(UTC))
    except CronSyntaxError as exc:
        raise ValidationError(str(exc)) from exc
    if upcoming is None:
        raise ValidationError("This schedule never fires.")
