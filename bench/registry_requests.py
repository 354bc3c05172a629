"""What one request of each kind a copy makes costs a registry, in its own CPU (issue #12).

A local Distribution registry answers `--requests` requests of each kind, one at a
time, from a plain `requests` session; the registry's CPU (user + system, from
/proc) and the wall time per request are printed. A copy's requests are mostly
small, and on a machine shared with its registries their CPU is what a tool's
extra request costs everyone.

    .venv/bin/python bench/registry_requests.py [--requests 1000]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from urllib.parse import urljoin

import requests
from _common import cpu_seconds, registry_pool

from tests.support.images import add_query, push_image, sha256_digest

Request = Callable[[requests.Session, str, int], None]


def head_blob_present(digest: str) -> Request:
    def send(session: requests.Session, url: str, _i: int) -> None:
        session.head(f"{url}/v2/lib/base/blobs/{digest}", timeout=30).raise_for_status()
    return send


def head_blob_absent(session: requests.Session, url: str, i: int) -> None:
    missing = sha256_digest(f"missing-{i}".encode())
    if session.head(f"{url}/v2/lib/base/blobs/{missing}", timeout=30).status_code != 404:
        raise AssertionError("a blob never pushed was found")


def head_manifest_absent(session: requests.Session, url: str, i: int) -> None:
    if session.head(f"{url}/v2/lib/base/manifests/t{i}", timeout=30).status_code != 404:
        raise AssertionError("a tag never pushed was found")


def list_one_tag_unknown(session: requests.Session, url: str, i: int) -> None:
    if session.get(f"{url}/v2/lib/new-{i}/tags/list", params={"n": "1"},
                   timeout=30).status_code != 404:
        raise AssertionError("a repository never pushed to was listed")


def upload_small_blob(session: requests.Session, url: str, i: int) -> None:
    data = os.urandom(4096)
    post = session.post(f"{url}/v2/lib/up-{i}/blobs/uploads/", timeout=30)
    post.raise_for_status()
    location = urljoin(post.url, post.headers["Location"])
    session.put(add_query(location, digest=sha256_digest(data)), data=data,
                headers={"Content-Type": "application/octet-stream"},
                timeout=30).raise_for_status()


def mount_blob(digest: str) -> Request:
    def send(session: requests.Session, url: str, i: int) -> None:
        response = session.post(f"{url}/v2/lib/mount-{i}/blobs/uploads/",
                                params={"mount": digest, "from": "lib/base"}, timeout=30)
        if response.status_code != 201:
            raise AssertionError(f"mount answered {response.status_code}")
    return send


def measure(pid: int, url: str, count: int, send: Request) -> tuple[float, float]:
    """Registry CPU and wall time per request, in ms, over `count` requests."""
    with requests.Session() as session:
        session.trust_env = False
        send(session, url, -1)  # a warm connection, not counted
        cpu, started = cpu_seconds(pid), time.monotonic()
        for i in range(count):
            send(session, url, i)
        wall = time.monotonic() - started
        return (cpu_seconds(pid) - cpu) * 1000 / count, wall * 1000 / count


def request_kinds(digest: str) -> list[tuple[str, Request]]:
    """Each kind of request measured, given a blob of ``lib/base``."""
    return [
        ("HEAD blob, present", head_blob_present(digest)),
        ("HEAD blob, absent", head_blob_absent),
        ("HEAD manifest, absent", head_manifest_absent),
        ("GET tags/list?n=1, NAME_UNKNOWN", list_one_tag_unknown),
        ("mount (POST, 201)", mount_blob(digest)),
        ("4 KiB upload (POST + PUT)", upload_small_blob),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    with registry_pool() as start:
        registry = start("registry")
        assert registry.pid is not None
        base = push_image(registry.url, "lib/base", "v1", layers=(4096,))
        print(f"{args.requests} requests of each kind, one at a time, to a local "
              "Distribution registry:")
        for name, send in request_kinds(base.blobs[0][0]):
            cpu, wall = measure(registry.pid, registry.url, args.requests, send)
            print(f"  {name:34s} registry {cpu:5.2f} ms CPU, wall {wall:5.2f} ms per request")


if __name__ == "__main__":
    main()
