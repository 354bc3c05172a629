"""The real registry behind the fake, reached with internal admin tokens.

Harbor keeps its artifacts in a database; the fake keeps none and asks the
registry instead: catalog, tags, manifests (HEAD/GET with the full `Accept`, so
2.8 converts nothing, protocols.md §3.2) and deletes by digest (§3.4). Only what
Distribution has no API for comes from its storage directory: the manifest
revisions of a repository (untagged artifacts) and their link times (push times).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

import requests

from tests.support.images import MANIFEST_ACCEPT
from tests.support.registry_server import RegistryServer
from tests.support.token_server import Access, TokenServer

_TIMEOUT = 30
INTERNAL_SUBJECT = "harbor-core"


class BackendError(RuntimeError):
    """The registry answered an internal call with an unexpected status."""


@dataclass(frozen=True)
class Manifest:
    """A manifest as stored: exact bytes, media type and digest."""

    digest: str
    media_type: str
    body: bytes


def _repository_access(repo: str) -> Access:
    return [{"type": "repository", "name": repo, "actions": ["pull", "push", "delete"]}]


_CATALOG_ACCESS: Access = [{"type": "registry", "name": "catalog", "actions": ["*"]}]


class RegistryBackend:
    """Internal calls to one `RegistryServer`, each with a freshly minted admin token."""

    def __init__(self, registry: RegistryServer, signer: TokenServer) -> None:
        self.registry = registry
        self.signer = signer
        self.session = requests.Session()
        self.session.trust_env = False
        # For proxied client traffic: no default headers of our own (an added
        # `Accept: */*` would change what 2.8 serves, protocols.md §3.2).
        self.proxy_session = requests.Session()
        self.proxy_session.trust_env = False
        self.proxy_session.headers.clear()

    def close(self) -> None:
        self.session.close()
        self.proxy_session.close()

    def _request(
        self, method: str, path: str, access: Access, **kwargs: Any
    ) -> requests.Response:
        token = self.signer.mint_token(INTERNAL_SUBJECT, access)
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        url = urljoin(self.registry.url, path)
        return self.session.request(method, url, headers=headers, timeout=_TIMEOUT, **kwargs)

    @staticmethod
    def _manifest_path(repo: str, reference: str) -> str:
        return f"/v2/{repo}/manifests/{quote(reference, safe=':')}"

    # -- reads -----------------------------------------------------------------------

    def catalog(self) -> list[str]:
        """Every repository with a manifest (2.8 lists `_manifests` dirs), following `Link`."""
        names: list[str] = []
        path: str | None = "/v2/_catalog?n=1000"
        while path:
            resp = self._request("GET", path, _CATALOG_ACCESS)
            if resp.status_code != 200:
                raise BackendError(f"catalog -> {resp.status_code}: {resp.text[:200]}")
            names += resp.json().get("repositories") or []
            path = resp.links.get("next", {}).get("url")
        return names

    def tags(self, repo: str) -> list[str]:
        """All tags of `repo`, sorted; empty for an unknown repository."""
        resp = self._request("GET", f"/v2/{repo}/tags/list", _repository_access(repo))
        if resp.status_code == 404:
            return []
        if resp.status_code != 200:
            raise BackendError(f"tags of {repo} -> {resp.status_code}: {resp.text[:200]}")
        return sorted(resp.json().get("tags") or [])

    def resolve(self, repo: str, reference: str) -> str | None:
        """The digest a tag or digest names, by HEAD with the full `Accept`; None if absent."""
        resp = self._request(
            "HEAD",
            self._manifest_path(repo, reference),
            _repository_access(repo),
            headers={"Accept": MANIFEST_ACCEPT},
        )
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise BackendError(f"HEAD {repo}:{reference} -> {resp.status_code}")
        return resp.headers["Docker-Content-Digest"]

    def manifest(self, repo: str, reference: str) -> Manifest | None:
        """The stored manifest bytes, or None when the registry does not have them."""
        resp = self._request(
            "GET",
            self._manifest_path(repo, reference),
            _repository_access(repo),
            headers={"Accept": MANIFEST_ACCEPT},
        )
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise BackendError(f"GET {repo}:{reference} -> {resp.status_code}")
        content_type = resp.headers.get("Content-Type", "").split(";")[0].strip()
        return Manifest(resp.headers["Docker-Content-Digest"], content_type, resp.content)

    def tag_map(self, repo: str) -> dict[str, str]:
        """`{tag: digest}` for every tag that still resolves."""
        resolved = {tag: self.resolve(repo, tag) for tag in self.tags(repo)}
        return {tag: digest for tag, digest in resolved.items() if digest}

    # -- writes ----------------------------------------------------------------------

    def delete(self, repo: str, digest: str) -> bool:
        """DELETE a manifest by digest (2.8 drops its tags too). False when absent."""
        resp = self._request("DELETE", self._manifest_path(repo, digest), _repository_access(repo))
        if resp.status_code == 404:
            return False
        if resp.status_code != 202:
            raise BackendError(f"DELETE {repo}@{digest} -> {resp.status_code}: {resp.text[:200]}")
        return True

    def put(self, repo: str, reference: str, manifest: Manifest) -> None:
        """PUT the exact bytes under a tag or their digest."""
        resp = self._request(
            "PUT",
            self._manifest_path(repo, reference),
            _repository_access(repo),
            data=manifest.body,
            headers={"Content-Type": manifest.media_type},
        )
        if resp.status_code != 201:
            raise BackendError(f"PUT {repo}:{reference} -> {resp.status_code}: {resp.text[:200]}")

    def ping(self) -> bool:
        try:
            return self._request("GET", "/v2/", []).status_code == 200
        except requests.RequestException:
            return False

    # -- storage facts Distribution has no API for -----------------------------------

    def _manifests_dir(self, repo: str) -> Path:
        return (
            self.registry.storage_dir / "docker/registry/v2/repositories" / repo / "_manifests"
        )

    def revisions(self, repo: str) -> list[str]:
        """Digests of every manifest stored in `repo`, tagged or not, children included."""
        root = self._manifests_dir(repo) / "revisions"
        if not root.is_dir():
            return []
        return sorted(
            f"{algo.name}:{entry.name}"
            for algo in root.iterdir()
            for entry in algo.iterdir()
            if (entry / "link").is_file()
        )

    def _link(self, repo: str, digest: str) -> Path:
        algorithm, _, hex_digest = digest.partition(":")
        return self._manifests_dir(repo) / "revisions" / algorithm / hex_digest / "link"

    def _tag_links(self, repo: str, tags: list[str]) -> Iterator[Path]:
        for tag in tags:
            yield self._manifests_dir(repo) / "tags" / tag / "current" / "link"

    def push_time(self, repo: str, digest: str) -> dt.datetime:
        """When the manifest's revision link was written (its last push)."""
        try:
            stamp = self._link(repo, digest).stat().st_mtime
        except FileNotFoundError:
            stamp = 0.0
        return dt.datetime.fromtimestamp(stamp, dt.UTC)

    def link_times(self, repo: str, digest: str, tags: list[str]) -> dict[Path, float]:
        """Modification times of a manifest's links, to restore after a re-put."""
        paths = [self._link(repo, digest), *self._tag_links(repo, tags)]
        return {p: p.stat().st_mtime for p in paths if p.exists()}

    @staticmethod
    def restore_times(times: dict[Path, float]) -> None:
        for path, stamp in times.items():
            if path.exists():
                os.utime(path, (stamp, stamp))
