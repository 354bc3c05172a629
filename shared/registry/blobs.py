"""Blobs: existence checks, streaming reads, cross-repository mounts, uploads.

Uploads never hold a whole blob in memory: the body is a file-like view over
the source stream that hashes what passes through it, so a blob whose bytes
don't match its digest is caught (and its upload cancelled) while streaming.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from shared.errors import (
    CrossdockError,
    DigestMismatchError,
    RegistryUnavailableError,
)
from shared.registry.auth import repository_scope
from shared.registry.digests import new_hash
from shared.registry.transport import Response, Transport, raise_for

READ_SIZE = 1024 * 1024
Progress = Callable[[int], None]


@dataclass(frozen=True)
class UploadSession:
    """An open upload: the `Location` to send to next."""

    location: str


def blob_size(transport: Transport, repository: str, digest: str) -> int | None:
    """The size of a blob in a repository, or None when it isn't there."""
    response = transport.request(
        "HEAD",
        f"/v2/{repository}/blobs/{digest}",
        scopes=(repository_scope(repository, "pull"),),
    )
    response.close()
    if response.status_code == 404:
        return None
    raise_for(response, f"HEAD blob {repository}@{digest}")
    return int(response.headers.get("Content-Length") or 0)


@contextmanager
def open_blob(transport: Transport, repository: str, digest: str) -> Iterator[Response]:
    """A streaming GET of a blob (redirects to storage followed)."""
    with transport.stream(
        "GET", f"/v2/{repository}/blobs/{digest}", scopes=(repository_scope(repository, "pull"),)
    ) as response:
        raise_for(response, f"GET blob {repository}@{digest}")
        yield response


def start_upload(
    transport: Transport, repository: str, *, mount: tuple[str, str] | None = None
) -> UploadSession | None:
    """Open an upload session, or mount ``(digest, from_repository)`` instead.

    Returns None when the mount succeeded (201): the blob is there. A refused
    mount (202) hands back an ordinary session for the upload.
    """
    scopes: tuple[str, ...] = (repository_scope(repository, "pull", "push"),)
    params = None
    if mount is not None:
        digest, source = mount
        if source != repository:
            scopes += (repository_scope(source, "pull"),)
        params = {"mount": digest, "from": source}
    response = transport.request(
        "POST",
        f"/v2/{repository}/blobs/uploads/",
        scopes=scopes,
        params=params,
        headers={"Content-Length": "0"},
    )
    response.close()
    raise_for(response, f"POST blob upload {repository}", ok=(201, 202))
    if response.status_code == 201 and mount is not None:
        return None
    location = response.headers.get("Location")
    if not location:
        raise RegistryUnavailableError(f"{transport.config.host} opened an upload without Location")
    return UploadSession(location=_absolute(response, location))


def cancel_upload(transport: Transport, repository: str, session: UploadSession) -> None:
    """Best-effort DELETE of an abandoned upload session."""
    try:
        response = transport.request(
            "DELETE", session.location, scopes=(repository_scope(repository, "pull", "push"),)
        )
        response.close()
    except CrossdockError:
        pass


def upload_blob(
    transport: Transport,
    repository: str,
    session: UploadSession,
    digest: str,
    size: int,
    source: Iterator[bytes],
    *,
    chunk_size: int,
    progress: Progress | None = None,
) -> str:
    """Upload `size` bytes from `source` and commit them as `digest`.

    Up to `chunk_size` bytes go in one PUT (monolithic); larger blobs go as
    PATCH chunks of `chunk_size`, each to the latest `Location`, then a PUT.
    Returns ``"monolithic"`` or ``"chunked"``. The session is cancelled on any
    failure. Raises `DigestMismatchError` when the bytes don't match `digest`.
    """
    reader = _HashingReader(source, progress, digest)
    scopes = (repository_scope(repository, "pull", "push"),)
    location = session.location
    mode = "monolithic" if size <= chunk_size else "chunked"
    try:
        if mode == "chunked":
            offset = 0
            while offset < size:
                length = min(chunk_size, size - offset)
                response = transport.request(
                    "PATCH",
                    location,
                    scopes=scopes,
                    headers={
                        "Content-Type": "application/octet-stream",
                        "Content-Range": f"{offset}-{offset + length - 1}",
                        "Content-Length": str(length),
                    },
                    data=reader.view(length),
                    replayable=False,
                )
                response.close()
                raise_for(response, f"PATCH blob upload {repository}", ok=(202, 204))
                location = _absolute(response, response.headers.get("Location") or location)
                offset += length
            body: _Body | bytes = b""
        else:
            body = reader.view(size)
        response = transport.request(
            "PUT",
            _with_digest(location, digest),
            scopes=scopes,
            headers={"Content-Type": "application/octet-stream"},
            data=body,
            replayable=False,
        )
        response.close()
        reader.check(digest, size)
        raise_for(response, f"PUT blob {repository}@{digest}", ok=(201, 204))
        return mode
    except BaseException:
        cancel_upload(transport, repository, UploadSession(location))
        reader.check(digest, size, complete_only=True)
        raise


class _HashingReader:
    """Pulls chunks from a source iterator and hashes every byte handed out."""

    def __init__(self, source: Iterator[bytes], progress: Progress | None, digest: str) -> None:
        self._source = source
        self._buffer = memoryview(b"")
        self._hash = new_hash(digest)  # None: an algorithm crossdock does not accept
        self._progress = progress
        self.count = 0

    def read(self, limit: int) -> memoryview:
        if not self._buffer:
            chunk = next(self._source, b"")
            if not chunk:
                return memoryview(b"")
            self._buffer = memoryview(chunk)
        # Hand out memoryview slices: no copy of the bytes on the way through.
        piece = self._buffer[:limit]
        self._buffer = self._buffer[limit:]
        if self._hash is not None:
            self._hash.update(piece)
        self.count += len(piece)
        if self._progress is not None:
            self._progress(len(piece))
        return piece

    def view(self, length: int) -> _Body:
        return _Body(self, length)

    def check(self, digest: str, size: int, *, complete_only: bool = False) -> None:
        """Raise `DigestMismatchError` if what passed through isn't `digest`."""
        if complete_only and self.count < size:
            return
        if self.count != size:
            raise DigestMismatchError(f"blob {digest}: source sent {self.count} of {size} bytes")
        if self._hash is None:
            return
        actual = f"{self._hash.name}:{self._hash.hexdigest()}"
        if actual != digest:
            raise DigestMismatchError(f"blob {digest}: source bytes hash to {actual}")


class _Body:
    """A file-like body of exactly `length` bytes, for a request with Content-Length."""

    def __init__(self, reader: _HashingReader, length: int) -> None:
        self._reader = reader
        self.len = length  # requests reads `len` to set Content-Length
        self._left = length

    def read(self, size: int = -1) -> memoryview | bytes:
        if self._left <= 0:
            return b""
        want = self._left if size is None or size < 0 else min(size, self._left)
        piece = self._reader.read(want)
        self._left -= len(piece)
        return piece


def _absolute(response: Response, location: str) -> str:
    return urljoin(response.url, location)


def _with_digest(location: str, digest: str) -> str:
    """Add ``digest=`` to an upload URL, keeping its own query (``_state``)."""
    parts = urlsplit(location)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("digest", digest)]
    return urlunsplit(parts._replace(query=urlencode(query)))
