"""Image references as users type them on the command line. Pure, no I/O.

``http://127.0.0.1:5001/lib/app:v1``, ``https://reg.example/lib/app@sha256:…``,
``reg.example/lib/app`` (HTTPS is assumed without a scheme). The scheme picks
HTTP or HTTPS; the path is the repository, validated against the OCI grammar.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from shared.errors import InvalidReferenceError
from shared.grammar import is_valid_digest, is_valid_repository, is_valid_tag


@dataclass(frozen=True)
class ImageReference:
    """A registry, a repository and a tag and/or digest."""

    registry_url: str  # scheme://host[:port]
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def reference(self) -> str:
        """What to fetch: the digest when there is one, else the tag."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        host = urlsplit(self.registry_url).netloc
        text = f"{host}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


@dataclass(frozen=True)
class RepositoryLocation:
    """A registry and an optional path inside it (a project or namespace)."""

    registry_url: str
    path: str


def split_registry(text: str) -> tuple[str, str]:
    """``http://host:5000/a/b`` → (``http://host:5000``, ``a/b``)."""
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise InvalidReferenceError(f"{text}: the scheme must be http or https")
    if not parts.netloc:
        raise InvalidReferenceError(f"{text}: no registry host")
    if parts.query or parts.fragment:
        raise InvalidReferenceError(f"{text}: a reference has no query or fragment")
    return f"{parts.scheme}://{parts.netloc}", parts.path.strip("/")


def parse_image_reference(text: str, *, default_tag: str | None = "latest") -> ImageReference:
    """Parse ``[scheme://]host[:port]/repo[:tag][@digest]``.

    Without a tag or digest the tag is `default_tag`.
    """
    registry_url, path = split_registry(text.strip())
    name, digest = path, None
    if "@" in path:
        name, digest = path.split("@", 1)
        if not is_valid_digest(digest):
            raise InvalidReferenceError(f"{text}: {digest!r} is not a valid digest")
    tag = None
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
        if not is_valid_tag(tag):
            raise InvalidReferenceError(f"{text}: {tag!r} is not a valid tag")
    if not name:
        raise InvalidReferenceError(f"{text}: no repository")
    if not is_valid_repository(name):
        raise InvalidReferenceError(
            f"{text}: {name!r} is not a valid repository name (lower case, digits, "
            "separators . _ __ - and /)"
        )
    if tag is None and digest is None:
        tag = default_tag
    return ImageReference(registry_url, name, tag, digest)


def parse_repository_location(text: str, *, require_path: bool) -> RepositoryLocation:
    """Parse ``[scheme://]host[:port][/path]`` for a project or namespace."""
    registry_url, path = split_registry(text.strip())
    if require_path and not path:
        raise InvalidReferenceError(f"{text}: name a project, e.g. {registry_url}/library")
    if path and not is_valid_repository(path):
        raise InvalidReferenceError(f"{text}: {path!r} is not a valid project or namespace")
    return RepositoryLocation(registry_url, path)
