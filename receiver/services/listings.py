"""What a source registry says its projects are, listed in the background.

A project is the first path segment of a repository (DESIGN, data model). A
Distribution source lists them from its catalog (following ``Link`` pages); a
Harbor source from its project API, which needs no catalog rights (protocols.md
§8.1, §11.2). Each source's listing is kept in a `BackgroundCache`, listed again
every `MAX_AGE` seconds. Credentials that may not list the registry give a
listing that says so (`ListingStatus.FORBIDDEN`), not an error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from receiver.services.refresh import BackgroundCache
from shared.errors import AuthenticationError, PermanentError, PermissionDeniedError
from shared.registry import RegistryClient, RegistryConfig, harbor
from shared.settings import Settings
from shared.store import SourceKind, Store

#: Seconds a listing is shown before the registry is asked again.
MAX_AGE = 60.0
#: Seconds before a listing that failed on a transient error is tried again.
RETRY_AFTER = 15.0
#: Registries list in the background: timeouts may be longer than a request's.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0


class ListingStatus(StrEnum):
    OK = "ok"
    LOADING = "loading"  # the first listing is still running
    FORBIDDEN = "forbidden"  # the source's credentials may not list it (401, 403)
    FAILED = "failed"  # the registry refused otherwise (TLS, not a registry, ...)
    UNREACHABLE = "unreachable"  # the last listing failed on a transient error


@dataclass(frozen=True)
class Listing:
    """What one listing of a source found: repositories per project."""

    source_updated_at: datetime  # the source record it was made with
    status: ListingStatus
    projects: Mapping[str, int]
    message: str | None = None


ProjectCache = BackgroundCache[int, Listing]


def project_of(repository: str) -> str:
    return repository.split("/", 1)[0]


def count_projects(repositories: Iterable[str]) -> dict[str, int]:
    """Repositories per project (pure)."""
    return dict(Counter(project_of(name) for name in repositories if name))


def list_source(settings: Settings, store: Store, source_id: int) -> Listing:
    """List a source's projects now. A refusal (credentials, TLS, not a registry) is a
    listing that says so; a transient failure raises (`RegistryUnavailableError`), as
    do the store's errors."""
    source = store.get_source(source_id)
    credentials = store.source_credentials(source_id)
    client = RegistryClient(RegistryConfig(
        url=source.url, username=credentials.username, password=credentials.password,
        verify_tls=source.verify_tls, ca_bundle=source.ca_bundle,
        connect_timeout=min(settings.connect_timeout, CONNECT_TIMEOUT),
        read_timeout=min(settings.read_timeout, READ_TIMEOUT), pool_size=1))
    harbor_source = source.kind == SourceKind.HARBOR
    try:
        if harbor_source:
            projects = {p.name: p.repositories for p in harbor.list_projects(client.transport)}
        else:
            projects = count_projects(client.catalog())
    except (AuthenticationError, PermissionDeniedError) as exc:
        what = "its projects (Harbor's project API)" if harbor_source else "its catalog"
        who = credentials.username or "anonymous access"
        return Listing(source.updated_at, ListingStatus.FORBIDDEN, {},
                       f"the source's credentials ({who}) may not list {what}: {exc}")
    except PermanentError as exc:
        return Listing(source.updated_at, ListingStatus.FAILED, {},
                       f"the source could not be listed: {exc}")
    finally:
        client.close()
    return Listing(source.updated_at, ListingStatus.OK, projects)


def new_cache(settings: Settings, store: Store) -> ProjectCache:
    """Each source's listing by source id, refreshed in the background."""
    return BackgroundCache(lambda source_id: list_source(settings, store, source_id),
                           name="projects", max_age=MAX_AGE, retry_after=RETRY_AFTER)
