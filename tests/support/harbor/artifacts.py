"""Harbor artifacts, derived from the registry on every call, and their deletion.

An artifact is one manifest digest with all its tags (protocols.md §11.2). Sizes and
media types follow Harbor's abstractor: an image counts its manifest, config and
layers and takes the config's media type; an index counts its manifest plus its
children and keeps its own media type. Index children that no tag names are
omitted from listings (Harbor's default `base` query).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tests.support.harbor.backend import Manifest, RegistryBackend
from tests.support.harbor.state import HarborError
from tests.support.images import DOCKER_CONFIG, OCI_CONFIG

INDEX_TYPES = frozenset(
    {
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    }
)
_IMAGE_MEDIA_TYPES = frozenset({OCI_CONFIG, DOCKER_CONFIG, *INDEX_TYPES})


@dataclass(frozen=True)
class Artifact:
    """One manifest of a repository as Harbor reports it."""

    digest: str
    manifest_media_type: str
    media_type: str
    size: int
    push_time: dt.datetime
    tags: tuple[str, ...]
    children: tuple[Mapping[str, Any], ...]  # index entries: digest, platform, annotations
    annotations: Mapping[str, str]

    @property
    def type(self) -> str:
        return "IMAGE" if self.media_type in _IMAGE_MEDIA_TYPES else "UNKNOWN"

    @property
    def child_digests(self) -> frozenset[str]:
        return frozenset(str(c["digest"]) for c in self.children)


def _document(manifest: Manifest) -> dict[str, Any]:
    try:
        doc = json.loads(manifest.body)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _own_size(doc: Mapping[str, Any], body: bytes) -> int:
    """Manifest bytes plus config and layers (Harbor's `abstractManifestV2Metadata`)."""
    blobs = [doc.get("config") or {}, *(doc.get("layers") or [])]
    return len(body) + sum(int(b.get("size") or 0) for b in blobs)


def _build(
    manifest: Manifest, push_time: dt.datetime, tags: tuple[str, ...], sizes: Mapping[str, int]
) -> Artifact:
    doc = _document(manifest)
    media = manifest.media_type or str(doc.get("mediaType") or "")
    if media in INDEX_TYPES:
        children = tuple(doc.get("manifests") or [])
        size = len(manifest.body) + sum(
            sizes.get(str(c.get("digest")), int(c.get("size") or 0)) for c in children
        )
        annotations = doc.get("annotations") or {}
        artifact_media = str(annotations.get("org.opencontainers.artifactType") or media)
    else:
        children = ()
        size = _own_size(doc, manifest.body)
        artifact_media = str((doc.get("config") or {}).get("mediaType") or media)
    return Artifact(
        manifest.digest,
        media,
        artifact_media,
        size,
        push_time,
        tags,
        children,
        dict(doc.get("annotations") or {}),
    )


def all_artifacts(backend: RegistryBackend, repo: str) -> dict[str, Artifact]:
    """Every artifact of `repo` by digest, index children included."""
    tag_map = backend.tag_map(repo)
    digests = sorted(set(backend.revisions(repo)) | set(tag_map.values()))
    manifests = {d: m for d in digests if (m := backend.manifest(repo, d)) is not None}
    tags_of: dict[str, list[str]] = {}
    for tag, digest in sorted(tag_map.items()):
        tags_of.setdefault(digest, []).append(tag)
    images_first = sorted(manifests.values(), key=lambda m: m.media_type in INDEX_TYPES)
    sizes: dict[str, int] = {}
    result: dict[str, Artifact] = {}
    for manifest in images_first:
        artifact = _build(
            manifest,
            backend.push_time(repo, manifest.digest),
            tuple(tags_of.get(manifest.digest, ())),
            sizes,
        )
        sizes[artifact.digest] = artifact.size
        result[artifact.digest] = artifact
    return result


def listed(artifacts: Mapping[str, Artifact]) -> list[Artifact]:
    """Tagged artifacts plus untagged ones no index references; newest push first."""
    referenced = frozenset().union(*(a.child_digests for a in artifacts.values()))
    shown = [a for a in artifacts.values() if a.tags or a.digest not in referenced]
    return sorted(shown, key=lambda a: (-a.push_time.timestamp(), a.digest))


def find(
    artifacts: Mapping[str, Artifact], reference: str
) -> Artifact | None:
    """The artifact a digest or one of its tags names."""
    if reference in artifacts:
        return artifacts[reference]
    return next((a for a in artifacts.values() if reference in a.tags), None)


# -- deletion (protocols.md §11.3) -------------------------------------------------------


def delete_tag(backend: RegistryBackend, repo: str, artifact: Artifact, tag: str) -> None:
    """Remove one tag and keep the artifact with its other tags.

    Distribution 2.8 cannot delete a tag alone (§3.4): delete the digest, put the
    same bytes back by digest (the artifact stays, maybe untagged) and under each
    remaining tag, then restore the link times so push times do not move.
    Raises HarborError 404 when `tag` is not on `artifact`.
    """
    if tag not in artifact.tags:
        raise HarborError(404, "NOT_FOUND", f"tag {tag} not found on artifact {artifact.digest}")
    manifest = backend.manifest(repo, artifact.digest)
    if manifest is None:
        raise HarborError(404, "NOT_FOUND", f"artifact {repo}@{artifact.digest} not found")
    keep = [t for t in artifact.tags if t != tag]
    times = backend.link_times(repo, artifact.digest, keep)
    backend.delete(repo, artifact.digest)
    backend.put(repo, artifact.digest, manifest)
    for other in keep:
        backend.put(repo, other, manifest)
    backend.restore_times(times)


def delete_artifact(
    backend: RegistryBackend, repo: str, artifact: Artifact, artifacts: Mapping[str, Artifact]
) -> None:
    """Delete an artifact with all its tags, then its children nothing else keeps.

    Raises HarborError 412 when another index references it (Harbor's `deleteDeeply`).
    """
    parents = [a for a in artifacts.values() if artifact.digest in a.child_digests]
    if parents:
        raise HarborError(412, "PRECONDITION", "the deleting artifact is referenced by others")
    backend.delete(repo, artifact.digest)
    delete_orphans(backend, repo, artifact, artifacts)


def delete_orphans(
    backend: RegistryBackend, repo: str, deleted: Artifact, artifacts: Mapping[str, Artifact]
) -> None:
    """After `deleted` went: drop its children that no tag names and no other index lists."""
    others = [a for a in artifacts.values() if a.digest != deleted.digest]
    still_referenced = frozenset().union(*(a.child_digests for a in others))
    for digest in sorted(deleted.child_digests):
        child = artifacts.get(digest)
        if child is not None and not child.tags and digest not in still_referenced:
            backend.delete(repo, digest)
