"""The bare copier: the ceiling for copying many small images (issue #12).

Python `requests`, N threads, each copying one image at a time: GET the manifest,
then each blob either mounted (from the destination repository it was first put
in) or streamed GET -> POST + one PUT with Content-Length, then PUT the manifest.
No checks at all: no HEADs, no digest verification, no referrers, no retries; a
blob this copier already put in the same repository is not sent again. Nothing
crossdock does is cheaper than this, so it is the figure to compare with.

Run on its own it reads ``repository:tag`` lines from a file and prints one JSON
line with the seconds the copy took (interpreter start and imports excluded):

    .venv/bin/python bench/bare_copier.py SOURCE_URL DEST_URL IMAGES_FILE --threads 4
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urljoin

import requests

MANIFEST_ACCEPT = ", ".join((
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
))
STREAM_BLOCK = 1024 * 1024


class BareCopier:
    """Copies images from `source` to `destination` (base URLs), nothing else."""

    def __init__(self, source: str, destination: str) -> None:
        self.source = source.rstrip("/")
        self.destination = destination.rstrip("/")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._placed: dict[str, set[str]] = {}  # digest -> destination repositories

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.trust_env = False
        return session

    def copy(self, repository: str, tag: str) -> None:
        """One image: manifest GET, blobs, manifest PUT. Raises on any failed request."""
        session = self._session()
        response = session.get(f"{self.source}/v2/{repository}/manifests/{tag}",
                               headers={"Accept": MANIFEST_ACCEPT}, timeout=60)
        response.raise_for_status()
        media_type = response.headers["Content-Type"]
        body = response.content
        document = json.loads(body)
        for blob in [document["config"], *document["layers"]]:
            self._blob(session, repository, blob["digest"], int(blob["size"]))
        put = session.put(f"{self.destination}/v2/{repository}/manifests/{tag}", data=body,
                          headers={"Content-Type": media_type}, timeout=60)
        put.raise_for_status()

    def _blob(self, session: requests.Session, repository: str, digest: str, size: int) -> None:
        with self._lock:
            holders = self._placed.get(digest, set())
            if repository in holders:
                return
            mount_from = min(holders) if holders else None
        uploads = f"{self.destination}/v2/{repository}/blobs/uploads/"
        if mount_from is not None:
            mounted = session.post(uploads, params={"mount": digest, "from": mount_from},
                                   timeout=60)
            mounted.close()
            if mounted.status_code == 201:
                self._remember(digest, repository)
                return
            location = mounted.headers["Location"]  # 202: the registry opened an upload
        else:
            started = session.post(uploads, timeout=60)
            started.raise_for_status()
            location = started.headers["Location"]
        with session.get(f"{self.source}/v2/{repository}/blobs/{digest}", stream=True,
                         timeout=60) as source:
            source.raise_for_status()
            put = session.put(urljoin(uploads, location), params={"digest": digest},
                              data=_Sized(source.iter_content(STREAM_BLOCK), size),
                              headers={"Content-Type": "application/octet-stream"},
                              timeout=60)
        put.raise_for_status()
        self._remember(digest, repository)

    def _remember(self, digest: str, repository: str) -> None:
        with self._lock:
            self._placed.setdefault(digest, set()).add(repository)


class _Sized:
    """A stream of chunks with a known length: `requests` sends it with that
    Content-Length instead of chunked transfer encoding."""

    def __init__(self, chunks: Iterator[bytes], size: int) -> None:
        self._chunks = chunks
        self._size = size

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks


def copy_all(source: str, destination: str, images: Sequence[tuple[str, str]],
             threads: int) -> float:
    """Copy every (repository, tag) with `threads` threads; the seconds it took."""
    copier = BareCopier(source, destination)
    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(copier.copy, repository, tag) for repository, tag in images]:
            future.result()
    return time.monotonic() - started


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("destination")
    parser.add_argument("images", help="a file of repository:tag lines")
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args(argv)
    images = []
    with open(args.images) as lines:
        for line in lines:
            if line.strip():
                repository, tag = line.strip().rsplit(":", 1)
                images.append((repository, tag))
    seconds = copy_all(args.source, args.destination, images, args.threads)
    result: dict[str, Any] = {"images": len(images), "threads": args.threads,
                              "seconds": round(seconds, 4)}
    print(json.dumps(result))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
