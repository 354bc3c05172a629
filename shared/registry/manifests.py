"""Manifests: kept as the exact bytes received, verified against their digest.

Never re-serialized (a JSON round trip changes the digest, protocols.md §7).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from shared.errors import (
    DigestMismatchError,
    UnsupportedManifestError,
    UnsupportedOperationError,
)
from shared.mediatypes import INDEXES, MANIFEST_ACCEPT, SCHEMA1, SUPPORTED_MANIFESTS
from shared.registry.auth import repository_scope
from shared.registry.digests import digest_like
from shared.registry.transport import Transport, error_for, raise_for


@dataclass(frozen=True)
class Descriptor:
    """A pointer to content: media type, digest, size, and what else it says."""

    media_type: str
    digest: str
    size: int
    artifact_type: str | None = None
    platform: dict[str, Any] | None = None
    annotations: dict[str, str] | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Descriptor:
        return cls(
            media_type=str(data.get("mediaType", "")),
            digest=str(data["digest"]),
            size=int(data.get("size", 0)),
            artifact_type=data.get("artifactType"),
            platform=data.get("platform"),
            annotations=data.get("annotations"),
        )


@dataclass(frozen=True)
class Manifest:
    """A manifest or index: raw bytes, media type and the digest of those bytes."""

    media_type: str
    data: bytes = field(repr=False)
    digest: str = ""

    def __post_init__(self) -> None:
        if not self.digest:
            object.__setattr__(self, "digest", sha256_digest(self.data))

    @cached_property
    def document(self) -> dict[str, Any]:
        try:
            parsed = json.loads(self.data)
        except ValueError as exc:
            raise UnsupportedManifestError(f"manifest {self.digest} is not JSON") from exc
        if not isinstance(parsed, dict):
            raise UnsupportedManifestError(f"manifest {self.digest} is not a JSON object")
        return parsed

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEXES

    @property
    def children(self) -> tuple[Descriptor, ...]:
        """The manifests an index points at (empty for an image manifest)."""
        if not self.is_index:
            return ()
        return tuple(Descriptor.from_json(d) for d in self.document.get("manifests", []))

    @property
    def blobs(self) -> tuple[Descriptor, ...]:
        """Config and layers of an image manifest (empty for an index)."""
        if self.is_index:
            return ()
        config = self.document.get("config")
        layers = self.document.get("layers", [])
        found = ([config] if config else []) + list(layers)
        # Foreign layers with `urls` live elsewhere; registries don't hold them.
        return tuple(Descriptor.from_json(d) for d in found if not d.get("urls"))

    @property
    def subject(self) -> Descriptor | None:
        """The manifest this one refers to (signatures, SBOMs), if any."""
        subject = self.document.get("subject")
        return Descriptor.from_json(subject) if isinstance(subject, dict) else None


@dataclass(frozen=True)
class ManifestHead:
    """What a HEAD tells about a manifest without fetching it."""

    digest: str
    media_type: str
    size: int


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def is_digest(reference: str) -> bool:
    return ":" in reference


def _path(repository: str, reference: str) -> str:
    return f"/v2/{repository}/manifests/{reference}"


def get_manifest(transport: Transport, repository: str, reference: str) -> Manifest:
    """Fetch a manifest by tag or digest and verify it.

    Raises `NotFoundError` (404), `UnsupportedManifestError` (schema 1, unknown
    type, `mediaType` not matching `Content-Type`), `DigestMismatchError`.
    """
    what = f"GET manifest {repository}:{reference}"
    response = transport.request(
        "GET",
        _path(repository, reference),
        scopes=(repository_scope(repository, "pull"),),
        headers={"Accept": MANIFEST_ACCEPT},
    )
    raise_for(response, what)
    media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    manifest = Manifest(media_type=media_type, data=response.content)
    _verify(manifest, reference, response.headers.get("Docker-Content-Digest"), what)
    return manifest


def _verify(manifest: Manifest, reference: str, header_digest: str | None, what: str) -> None:
    if manifest.media_type in SCHEMA1:
        raise UnsupportedManifestError(
            f"{what}: Docker schema 1 manifests are not supported; re-push the image "
            "with a current client"
        )
    declared = manifest.document.get("mediaType")
    if manifest.media_type not in SUPPORTED_MANIFESTS:
        if declared in SUPPORTED_MANIFESTS:
            # Registries may serve a missing or generic Content-Type; trust the body.
            object.__setattr__(manifest, "media_type", declared)
        else:
            raise UnsupportedManifestError(
                f"{what}: unsupported manifest media type {manifest.media_type!r}"
            )
    elif declared is not None and declared != manifest.media_type:
        raise UnsupportedManifestError(
            f"{what}: mediaType {declared!r} does not match Content-Type {manifest.media_type!r}"
        )
    expected = reference if is_digest(reference) else header_digest
    actual = digest_like(manifest.data, expected) if expected else None
    if actual is not None and actual != expected:
        raise DigestMismatchError(f"{what}: content hashes to {actual}, registry says {expected}")


def head_manifest(transport: Transport, repository: str, reference: str) -> ManifestHead | None:
    """The digest, type and size of a manifest, or None when it doesn't exist."""
    response = transport.request(
        "HEAD",
        _path(repository, reference),
        scopes=(repository_scope(repository, "pull"),),
        headers={"Accept": MANIFEST_ACCEPT},
    )
    response.close()
    if response.status_code == 404:
        return None
    raise_for(response, f"HEAD manifest {repository}:{reference}")
    digest = response.headers.get("Docker-Content-Digest")
    media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    if not digest:
        # Older registries may omit the header on HEAD: fall back to a GET.
        manifest = get_manifest(transport, repository, reference)
        return ManifestHead(manifest.digest, manifest.media_type, len(manifest.data))
    size = int(response.headers.get("Content-Length") or 0)
    return ManifestHead(digest=digest, media_type=media_type, size=size)


def put_manifest(
    transport: Transport, repository: str, reference: str, manifest: Manifest
) -> None:
    """Store a manifest's exact bytes under a tag or its digest.

    Raises `RegistryRejectedError` with code ``MANIFEST_BLOB_UNKNOWN`` when a
    blob or child is missing, `DigestMismatchError` when the registry computes
    another digest, and the usual mapped errors.
    """
    what = f"PUT manifest {repository}:{reference}"
    response = transport.request(
        "PUT",
        _path(repository, reference),
        scopes=(repository_scope(repository, "pull", "push"),),
        headers={"Content-Type": manifest.media_type},
        data=manifest.data,
    )
    raise_for(response, what, ok=(200, 201, 202))
    stored = response.headers.get("Docker-Content-Digest")
    if stored and stored != manifest.digest:
        raise DigestMismatchError(f"{what}: registry stored {stored}, sent {manifest.digest}")


def delete_manifest(transport: Transport, repository: str, digest: str) -> bool:
    """Delete a manifest by digest (and with it every tag on it).

    Returns False when it was already gone (404). Raises
    `UnsupportedOperationError` when the registry has deletes disabled.
    """
    response = transport.request(
        "DELETE",
        _path(repository, digest),
        scopes=(repository_scope(repository, "delete"),),
    )
    response.close()
    if response.status_code == 404:
        return False
    if response.status_code in (200, 202, 204):
        return True
    error = error_for(response, f"DELETE manifest {repository}@{digest}")
    if isinstance(error, UnsupportedOperationError):
        raise UnsupportedOperationError(
            f"{error}; deletion is disabled on {transport.config.host}",
            status=error.status,
            code=error.code,
        )
    raise error


def delete_tag_reference(transport: Transport, repository: str, tag: str) -> bool:
    """Delete one tag where the registry allows it (OCI spec, Distribution 3).

    True when the tag is gone (202, or already absent); False when the registry
    can't delete a tag alone (Distribution 2.8 answers 400, Harbor 400
    UNSUPPORTED), so the caller must use another way.
    """
    response = transport.request(
        "DELETE",
        _path(repository, tag),
        scopes=(repository_scope(repository, "delete"),),
    )
    response.close()
    if response.status_code in (200, 202, 204, 404):
        return True
    if response.status_code in (400, 405):
        return False
    raise error_for(response, f"DELETE tag {repository}:{tag}")
