"""RabbitMQ addresses: the comma-separated list in `amqp_url`, and hiding passwords.

Pure functions (no pika here), so settings can validate the list at start-up.
A comma inside one URL must be written ``%2C``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

SCHEMES = ("amqp", "amqps")

# scheme://user:password@ -> scheme://user@ ; the password runs to the netloc's last "@".
_CREDENTIALS = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:,]*):[^\s/?#,]*@")


def redact_url(text: str) -> str:
    """`text` with the password of every URL in it removed (one URL, a list, a message)."""
    return _CREDENTIALS.sub(r"\g<head>@", text)


def split_amqp_urls(value: str) -> tuple[str, ...]:
    """The URLs of a comma-separated `amqp_url`, in the order given.

    Raises `ValueError` saying which entry is malformed. The entry itself is not
    shown: a password holding a raw comma would be cut in two and leak.
    """
    urls = tuple(part.strip() for part in value.split(","))
    for position, url in enumerate(urls, start=1):
        problem = _problem(url)
        if problem:
            hint = " (a comma inside a URL is written %2C)" if len(urls) > 1 else ""
            raise ValueError(f"URL {position} of {len(urls)} {problem}{hint}")
    return urls


def _problem(url: str) -> str | None:
    if not url:
        return "is empty"
    if any(char.isspace() for char in url):
        return "contains whitespace"
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        return "must start with amqp:// or amqps://"
    if not parts.hostname:
        return "has no host"
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError:
        return "has an invalid port"
    if parts.path.count("/") > 1:
        return "has more than one path segment (write a '/' in the vhost as %2F)"
    return None
