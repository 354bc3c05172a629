"""Push real images, indexes and referrers into a registry with plain `requests`.

Test fixtures only: the client under test never uses this module. Manifests are
serialized once and their digest is the sha256 of exactly the bytes pushed. Blobs
go up monolithically (POST + PUT); generated layers larger than one chunk go up
with chunked PATCHes, so big layers are never held in memory whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlencode, urljoin, urlsplit, urlunsplit

import requests

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_ACCEPT = ", ".join((OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST))

OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
COSIGN_SIG_ARTIFACT = "application/vnd.dev.cosign.artifact.sig.v1+json"
COSIGN_SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"

CHUNK_SIZE = 8 << 20
Format = Literal["oci", "docker"]
Layer = bytes | int
Platform = tuple[str, str] | tuple[str, str, str]
Blob = tuple[str, int]

_FORMATS: dict[str, tuple[str, str, str]] = {
    "oci": (OCI_MANIFEST, OCI_CONFIG, OCI_LAYER),
    "docker": (DOCKER_MANIFEST, DOCKER_CONFIG, DOCKER_LAYER),
}
_INDEX_TYPES: dict[str, str] = {"oci": OCI_INDEX, "docker": DOCKER_MANIFEST_LIST}


class PushError(RuntimeError):
    """The registry answered a push, delete or listing with an unexpected status."""


@dataclass(frozen=True)
class PushedImage:
    """A manifest (image, index or referrer) as pushed, with the blobs it needs.

    For an index, `blobs` holds every child's blobs and `children` the child manifests.
    """

    repository: str
    tag: str | None
    digest: str
    media_type: str
    manifest_bytes: bytes
    blobs: tuple[Blob, ...]
    children: tuple[PushedImage, ...] = ()

    @property
    def size(self) -> int:
        return len(self.manifest_bytes)

    def descriptor(self) -> dict[str, Any]:
        """An OCI descriptor pointing at this manifest."""
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def generate_chunks(size: int, seed: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Deterministic pseudo-random bytes: the same (size, seed) gives the same content."""
    rng = random.Random(seed)
    remaining = size
    while remaining > 0:
        n = min(chunk_size, remaining)
        yield rng.randbytes(n)
        remaining -= n


def add_query(url: str, **params: str) -> str:
    """`url` with `params` appended to its query, the existing query kept verbatim."""
    parts = urlsplit(url)
    extra = urlencode(params)
    return urlunsplit(parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra))


class _Client:
    """One registry's base URL plus a session; every call checks its status."""

    def __init__(self, base: str, session: requests.Session) -> None:
        self.base = base.rstrip("/")
        self.session = session

    def url(self, repo: str, *path: str) -> str:
        return "/".join((self.base, "v2", repo, *(quote(p, safe=":") for p in path)))

    def request(
        self, method: str, url: str, expected: tuple[int, ...], **kwargs: Any
    ) -> requests.Response:
        resp = self.session.request(method, url, timeout=60, **kwargs)
        if resp.status_code not in expected:
            raise PushError(f"{method} {url} -> {resp.status_code}: {resp.text[:500]}")
        return resp

    def _upload_location(self, resp: requests.Response) -> str:
        return urljoin(resp.url, resp.headers["Location"])

    def push_blob(self, repo: str, data: bytes) -> Blob:
        """Monolithic POST + PUT; skipped when the blob is already in `repo`."""
        digest = sha256_digest(data)
        head = self.session.head(self.url(repo, "blobs", digest), timeout=60)
        if head.status_code == 200:
            return digest, len(data)
        resp = self.request("POST", self.url(repo, "blobs", "uploads", ""), (202,))
        self.request(
            "PUT",
            add_query(self._upload_location(resp), digest=digest),
            (201,),
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        return digest, len(data)

    def push_chunked(self, repo: str, chunks: Iterator[bytes]) -> Blob:
        """PATCH each chunk with `Content-Range`, hashing as we go, then PUT `?digest=`."""
        resp = self.request(
            "POST",
            self.url(repo, "blobs", "uploads", ""),
            (202,),
            headers={"Content-Length": "0"},
        )
        location = self._upload_location(resp)
        hasher = hashlib.sha256()
        offset = 0
        for chunk in chunks:
            hasher.update(chunk)
            resp = self.request(
                "PATCH",
                location,
                (202,),
                data=chunk,
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Range": f"{offset}-{offset + len(chunk) - 1}",
                },
            )
            # 2.8 re-signs `_state` after every PATCH: always use the newest Location.
            location = self._upload_location(resp)
            offset += len(chunk)
        digest = "sha256:" + hasher.hexdigest()
        self.request(
            "PUT", add_query(location, digest=digest), (201,), headers={"Content-Length": "0"}
        )
        return digest, offset

    def push_layer(self, repo: str, layer: Layer, seed: str) -> Blob:
        if isinstance(layer, bytes):
            return self.push_blob(repo, layer)
        if layer <= CHUNK_SIZE:
            return self.push_blob(repo, b"".join(generate_chunks(layer, seed)))
        return self.push_chunked(repo, generate_chunks(layer, seed))

    def push_manifest(self, repo: str, reference: str, body: bytes, media_type: str) -> str:
        """PUT the exact bytes; check the registry's digest against ours."""
        digest = sha256_digest(body)
        resp = self.request(
            "PUT",
            self.url(repo, "manifests", reference),
            (201,),
            data=body,
            headers={"Content-Type": media_type},
        )
        returned = resp.headers.get("Docker-Content-Digest")
        if returned and returned != digest:
            raise PushError(f"registry computed {returned} for a manifest hashing to {digest}")
        return digest


@contextlib.contextmanager
def _client(base: str, session: requests.Session | None) -> Iterator[_Client]:
    """A client on `session`, or on a fresh session closed afterwards."""
    if session is not None:
        yield _Client(base, session)
        return
    with requests.Session() as own:
        own.trust_env = False
        yield _Client(base, own)


def _serialize(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, indent=2).encode()


def _descriptor(media_type: str, blob: Blob) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": blob[0], "size": blob[1]}


def _default_config(platform: Platform, layer_blobs: Sequence[Blob]) -> dict[str, Any]:
    config: dict[str, Any] = {
        "created": "2024-01-01T00:00:00Z",
        "architecture": platform[1],
        "os": platform[0],
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"]},
        # Layers are random bytes, not tarballs: their digests stand in for diff_ids.
        "rootfs": {"type": "layers", "diff_ids": [digest for digest, _ in layer_blobs]},
    }
    if len(platform) == 3:
        config["variant"] = platform[2]
    return config


def push_image(
    base: str,
    repo: str,
    tag: str | None,
    *,
    layers: Sequence[Layer] = (512, 2048),
    fmt: Format = "oci",
    config: Mapping[str, Any] | bytes | None = None,
    base_layers: Sequence[Layer] = (),
    platform: Platform = ("linux", "amd64"),
    seed: str | None = None,
    session: requests.Session | None = None,
) -> PushedImage:
    """Push an image manifest (by `tag`, or by digest when `tag` is None).

    `layers` are literal bytes or sizes of generated content; sizes get fresh random
    content unless `seed` is given. `base_layers` come first and are generated from a
    fixed seed, so images with the same `base_layers` share those blobs.
    Raises PushError on an unexpected registry answer.
    """
    manifest_type, config_type, layer_type = _FORMATS[fmt]
    seed = seed if seed is not None else uuid.uuid4().hex
    with _client(base, session) as client:
        layer_blobs = [
            client.push_layer(repo, layer, f"base:{i}") for i, layer in enumerate(base_layers)
        ]
        layer_blobs += [
            client.push_layer(repo, layer, f"{seed}:{i}") for i, layer in enumerate(layers)
        ]
        if isinstance(config, bytes):
            config_bytes = config
        else:
            config_bytes = _serialize(config or _default_config(platform, layer_blobs))
        config_blob = client.push_blob(repo, config_bytes)
        body = _serialize(
            {
                "schemaVersion": 2,
                "mediaType": manifest_type,
                "config": _descriptor(config_type, config_blob),
                "layers": [_descriptor(layer_type, blob) for blob in layer_blobs],
            }
        )
        digest = client.push_manifest(repo, tag or sha256_digest(body), body, manifest_type)
    return PushedImage(repo, tag, digest, manifest_type, body, (config_blob, *layer_blobs))


def push_index(
    base: str,
    repo: str,
    tag: str | None,
    *,
    platforms: Sequence[Platform] = (("linux", "amd64"), ("linux", "arm64")),
    fmt: Format = "oci",
    layers: Sequence[Layer] = (512,),
    session: requests.Session | None = None,
) -> PushedImage:
    """Push one image per platform by digest, then the index (or list) by `tag`.

    Raises PushError on an unexpected registry answer.
    """
    with _client(base, session) as client:
        children = tuple(
            push_image(base, repo, None, layers=layers, fmt=fmt, platform=p, session=client.session)
            for p in platforms
        )
        entries = []
        for child, platform in zip(children, platforms, strict=True):
            spec = {"architecture": platform[1], "os": platform[0]}
            if len(platform) == 3:
                spec["variant"] = platform[2]
            entries.append({**child.descriptor(), "platform": spec})
        media_type = _INDEX_TYPES[fmt]
        body = _serialize({"schemaVersion": 2, "mediaType": media_type, "manifests": entries})
        digest = client.push_manifest(repo, tag or sha256_digest(body), body, media_type)
    blobs = tuple(dict.fromkeys(blob for child in children for blob in child.blobs))
    return PushedImage(repo, tag, digest, media_type, body, blobs, children)


def cosign_tag(digest: str, suffix: str = ".sig") -> str:
    """cosign's tag for an attachment of `digest`: `sha256-<hex>.sig`."""
    return digest.replace(":", "-") + suffix


def push_referrer(
    base: str,
    repo: str,
    subject: PushedImage,
    *,
    artifact_type: str = COSIGN_SIG_ARTIFACT,
    payload: bytes | None = None,
    tag_suffix: str = ".sig",
    session: requests.Session | None = None,
) -> PushedImage:
    """Push an OCI artifact manifest whose `subject` is `subject`.

    Pushed by digest (for a referrers API) and under the cosign tag
    `sha256-<hex><tag_suffix>` (2.8 has no referrers API). Raises PushError.
    """
    if payload is None:
        payload = _serialize(
            {
                "critical": {
                    "identity": {"docker-reference": repo},
                    "image": {"docker-manifest-digest": subject.digest},
                    "type": "cosign container image signature",
                },
                "optional": {"nonce": uuid.uuid4().hex},
            }
        )
    tag = cosign_tag(subject.digest, tag_suffix)
    with _client(base, session) as client:
        empty = client.push_blob(repo, b"{}")
        layer = client.push_blob(repo, payload)
        body = _serialize(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "artifactType": artifact_type,
                "config": _descriptor(OCI_EMPTY, empty),
                "layers": [_descriptor(COSIGN_SIMPLESIGNING, layer)],
                "subject": subject.descriptor(),
            }
        )
        digest = client.push_manifest(repo, sha256_digest(body), body, OCI_MANIFEST)
        client.push_manifest(repo, tag, body, OCI_MANIFEST)
    return PushedImage(repo, tag, digest, OCI_MANIFEST, body, (empty, layer))


def put_tag(base: str, image: PushedImage, tag: str) -> None:
    """Link `tag` to an image already pushed by digest: the registry's second step."""
    response = requests.put(f"{base}/v2/{image.repository}/manifests/{tag}",
                            data=image.manifest_bytes,
                            headers={"Content-Type": image.media_type}, timeout=10)
    response.raise_for_status()


def delete_manifest(
    base: str, repo: str, digest: str, *, session: requests.Session | None = None
) -> None:
    """DELETE a manifest by digest (2.8 also drops every tag on it). Raises PushError."""
    with _client(base, session) as client:
        client.request("DELETE", client.url(repo, "manifests", digest), (202,))


def list_state(base: str, repo: str, *, session: requests.Session | None = None) -> dict[str, str]:
    """`{tag: digest}` for every tag in `repo`, sorted; empty for an unknown repository.

    Each tag is resolved by HEAD with all four manifest types in `Accept`, so 2.8
    neither converts nor hides anything. Raises PushError.
    """
    with _client(base, session) as client:
        resp = client.request("GET", client.url(repo, "tags", "list"), (200, 404))
        if resp.status_code == 404:
            return {}
        state: dict[str, str] = {}
        for tag in sorted(resp.json().get("tags") or []):
            for look in (1, 2):
                # A tag whose link file is being written answers 500 (Distribution
                # writes it in place): asked once more, as the transport does.
                head = client.request(
                    "HEAD",
                    client.url(repo, "manifests", tag),
                    (200, 404) if look == 2 else (200, 404, 500),
                    headers={"Accept": MANIFEST_ACCEPT},
                )
                if head.status_code != 500:
                    break
                time.sleep(0.05)
            if head.status_code == 200:
                state[tag] = head.headers["Docker-Content-Digest"]
    return state
