"""Listing: the catalog, a repository's tags, and a manifest's referrers.

Every list follows `Link: <...>; rel="next"`, resolved against the response URL
(Distribution 2.8 sends relative links, protocols.md §2).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

from shared.errors import NotFoundError, RegistryRejectedError
from shared.mediatypes import INDEXES
from shared.registry.auth import CATALOG_SCOPE, repository_scope
from shared.registry.facts import REFERRERS_ROUTE
from shared.registry.manifests import Descriptor
from shared.registry.transport import (
    Response,
    Transport,
    error_for,
    is_error_document,
    raise_for,
)

PAGE_SIZE = 1000  # Distribution's default catalog.maxentries


def _pages(
    transport: Transport, path: str, scopes: tuple[str, ...], **kwargs: str
) -> Iterator[Response]:
    url: str | None = path
    params: dict[str, str] | None = dict(kwargs) or None
    seen: set[str] = set()
    while url is not None and url not in seen:
        seen.add(url)
        response = transport.request("GET", url, scopes=scopes, params=params)
        yield response
        link = response.links.get("next", {}).get("url")
        url = urljoin(response.url, link) if link else None
        params = None  # the link carries its own query


def _items(response: Response, key: str, what: str) -> list[Any]:
    """The list under `key` in a JSON body (missing or null: empty)."""
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise RegistryRejectedError(f"{what}: registry sent a body that is not JSON") from exc
    items = body.get(key) if isinstance(body, dict) else None
    if items is None:
        return []
    if not isinstance(items, list):
        raise RegistryRejectedError(f"{what}: registry sent an unexpected body")
    return items


def catalog(transport: Transport) -> Iterator[str]:
    """Every repository name the registry lists (filtered by what we may see)."""
    for response in _pages(transport, "/v2/_catalog", (CATALOG_SCOPE,), n=str(PAGE_SIZE)):
        raise_for(response, "GET catalog")
        yield from (str(name) for name in _items(response, "repositories", "GET catalog"))


def tags(transport: Transport, repository: str) -> list[str]:
    """All tags of a repository, sorted; empty when the repository is unknown."""
    found: set[str] = set()
    what = f"GET tags {repository}"
    scopes = (repository_scope(repository, "pull"),)
    for response in _pages(transport, f"/v2/{repository}/tags/list", scopes):
        if response.status_code == 404:
            return []
        raise_for(response, what)
        found.update(str(tag) for tag in _items(response, "tags", what))
    return sorted(found)


def repository_exists(transport: Transport, repository: str) -> bool | None:
    """Whether the registry has `repository`, from a listing of at most one tag.

    False when it answers 404 ``NAME_UNKNOWN``: Distribution does so while the
    repository has no tags directory, which its first tag creates. None for any other
    answer (another status, or a 404 with another code, as a registry in front of its
    own database may send): the caller goes on as if it didn't know.
    """
    response = transport.request("GET", f"/v2/{repository}/tags/list",
                                 scopes=(repository_scope(repository, "pull"),),
                                 params={"n": "1"})
    response.close()
    if response.status_code == 200:
        return True
    if response.status_code == 404:
        error = error_for(response, f"GET tags {repository}")
        if isinstance(error, NotFoundError) and error.code == "NAME_UNKNOWN":
            return False
    return None


def referrers(transport: Transport, repository: str, digest: str) -> list[Descriptor] | None:
    """Manifests whose `subject` is `digest`, via the referrers API.

    None when the registry has no referrers API (it answers 404, protocols.md §5).
    A 404 that is no registry error document (Distribution 2.8's plain "404 page
    not found") means the route itself is missing: that is remembered for a
    while (`shared.registry.facts`), and the registry is not asked meanwhile.
    """
    if transport.facts.get(REFERRERS_ROUTE) is False:
        return None
    what = f"GET referrers {repository}@{digest}"
    scopes = (repository_scope(repository, "pull"),)
    found: list[Descriptor] = []
    for response in _pages(transport, f"/v2/{repository}/referrers/{digest}", scopes):
        if response.status_code == 404:
            if not is_error_document(response):
                transport.facts.learn(REFERRERS_ROUTE, False)
            return None
        raise_for(response, what)
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        if media_type not in INDEXES:
            return None
        found.extend(Descriptor.from_json(entry) for entry in _items(response, "manifests", what))
    return found

