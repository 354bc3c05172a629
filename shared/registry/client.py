"""`RegistryClient`: one registry, every call the copy engine and consumers need."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from shared.registry import blobs, listing, manifests
from shared.registry.blobs import Progress, UploadSession
from shared.registry.manifests import Descriptor, Manifest, ManifestHead
from shared.registry.transport import RegistryConfig, Transport, raise_for


@dataclass(frozen=True)
class PingResult:
    """What `GET /v2/` said: the API version header and the auth scheme in use."""

    api_version: str | None
    auth_scheme: str | None


class RegistryClient:
    """A thread-safe client for one OCI registry (pooled connections, cached tokens)."""

    def __init__(self, config: RegistryConfig) -> None:
        self.config = config
        self.transport = Transport(config)

    def __repr__(self) -> str:
        return f"RegistryClient({self.config.url!r})"

    @property
    def host(self) -> str:
        return self.config.host

    def close(self) -> None:
        self.transport.session.close()

    def ping(self) -> PingResult:
        """`GET /v2/` with authentication. Raises on anything but 200."""
        response = self.transport.request("GET", "/v2/")
        response.close()
        raise_for(response, "GET /v2/")
        return PingResult(
            api_version=response.headers.get("Docker-Distribution-Api-Version"),
            auth_scheme=self.transport.auth_scheme,
        )

    # manifests
    def get_manifest(self, repository: str, reference: str) -> Manifest:
        return manifests.get_manifest(self.transport, repository, reference)

    def head_manifest(self, repository: str, reference: str) -> ManifestHead | None:
        return manifests.head_manifest(self.transport, repository, reference)

    def put_manifest(self, repository: str, reference: str, manifest: Manifest) -> None:
        manifests.put_manifest(self.transport, repository, reference, manifest)

    def delete_manifest(self, repository: str, digest: str) -> bool:
        return manifests.delete_manifest(self.transport, repository, digest)

    # blobs
    def blob_size(self, repository: str, digest: str) -> int | None:
        return blobs.blob_size(self.transport, repository, digest)

    @contextmanager
    def open_blob(self, repository: str, digest: str) -> Iterator[Iterator[bytes]]:
        """The blob's bytes as an iterator of chunks, streamed."""
        with blobs.open_blob(self.transport, repository, digest) as response:
            yield response.iter_content(blobs.READ_SIZE)

    def start_upload(
        self, repository: str, *, mount: tuple[str, str] | None = None
    ) -> UploadSession | None:
        return blobs.start_upload(self.transport, repository, mount=mount)

    def upload_blob(
        self,
        repository: str,
        session: UploadSession,
        digest: str,
        size: int,
        source: Iterator[bytes],
        *,
        chunk_size: int,
        progress: Progress | None = None,
    ) -> str:
        return blobs.upload_blob(
            self.transport, repository, session, digest, size, source,
            chunk_size=chunk_size, progress=progress,
        )

    def cancel_upload(self, repository: str, session: UploadSession) -> None:
        blobs.cancel_upload(self.transport, repository, session)

    # listing
    def catalog(self) -> Iterator[str]:
        return listing.catalog(self.transport)

    def tags(self, repository: str) -> list[str]:
        return listing.tags(self.transport, repository)

    def repository_exists(self, repository: str) -> bool | None:
        return listing.repository_exists(self.transport, repository)

    def referrers(self, repository: str, digest: str) -> list[Descriptor] | None:
        return listing.referrers(self.transport, repository, digest)
