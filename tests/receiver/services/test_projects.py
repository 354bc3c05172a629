"""`receiver.services.projects`: a source's projects from its registry (Distribution's
catalog, Harbor's project API), with rules and last executions from the store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from receiver.api.schemas import source_patch
from receiver.services import Services, sources
from receiver.services.listings import ListingStatus, count_projects
from receiver.services.projects import (
    ProjectPage,
    filter_names,
    source_projects,
)
from shared.registry import harbor, listing
from shared.store import ExecutionStatus, ExecutionTrigger
from tests.receiver.conftest import Records
from tests.support.harbor import HarborFake
from tests.support.harbor.client import bearer_session
from tests.support.harbor_fixtures import HARBOR_ADMIN
from tests.support.images import push_image
from tests.support.registry_server import RegistryServer

WHEN = datetime(2030, 1, 1, tzinfo=UTC)


def names(page: ProjectPage) -> list[tuple[str, int | None, int, ExecutionStatus | None]]:
    return [(p.name, p.repositories, p.rules, p.last_status) for p in page.items]


# Pure --------------------------------------------------------------------------------


def test_a_project_is_the_first_path_segment() -> None:
    assert count_projects(["lib/app", "lib/team/web", "ops/tool", "alpine"]) == {
        "lib": 2, "ops": 1, "alpine": 1}


def test_the_filter_matches_any_part_in_any_case() -> None:
    assert filter_names(["alpine", "library", "tools"], " LI") == ["library"]
    assert filter_names(["alpine", "tools"], "") == ["alpine", "tools"]


# A Distribution source -----------------------------------------------------------------


@pytest.fixture
def registry_with_projects(registry: RegistryServer) -> RegistryServer:
    for repository in ("lib/app", "lib/team/web", "ops/tool", "alpine"):
        push_image(registry.url, repository, "v1", layers=(64,))
    return registry


def test_a_distribution_source_lists_its_catalog_page_after_page(
    found: Services, records: Records, registry_with_projects: RegistryServer,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)  # the catalog answers with Link pages
    source = records.source(registry_with_projects.url)
    endpoint = records.endpoint()
    on_lib = records.rule(source, endpoint, "lib")
    records.rule(source, endpoint, "empty")
    run = records.store.create_execution(on_lib.id, ExecutionTrigger.MANUAL)

    page = source_projects(found, source, wait=30)

    assert (page.status, page.message, page.total) == (ListingStatus.OK, None, 4)
    assert names(page) == [("alpine", 1, 0, None), ("empty", None, 1, None),
                           ("lib", 2, 1, ExecutionStatus.PENDING), ("ops", 1, 0, None)]
    assert page.items[2].last_execution == run
    assert page.listed_at is not None and not page.refreshing


def test_pages_and_the_search_box(found: Services, records: Records,
                                  registry_with_projects: RegistryServer) -> None:
    source = records.source(registry_with_projects.url)
    source_projects(found, source, wait=30)

    first = source_projects(found, source, limit=3)
    second = source_projects(found, source, limit=3, offset=3)
    searched = source_projects(found, source, search="P")

    assert ([p.name for p in first.items], first.next_offset) == (["alpine", "lib", "ops"],
                                                                    None)
    assert (second.items, second.total, second.next_offset) == ([], 3, None)
    assert [p.name for p in source_projects(found, source, limit=2).items] == ["alpine", "lib"]
    assert source_projects(found, source, limit=2).next_offset == 2
    assert [p.name for p in searched.items] == ["alpine", "ops"]


def test_a_listing_is_served_from_memory(found: Services, records: Records,
                                         registry_with_projects: RegistryServer) -> None:
    source = records.source(registry_with_projects.url)
    source_projects(found, source, wait=30)
    registry_with_projects.stop()

    page = source_projects(found, source, wait=0)

    assert page.status is ListingStatus.OK and page.total == 3 and not page.refreshing


def test_credentials_that_may_not_list_the_catalog_are_said(
    found: Services, records: Records, htpasswd_registry: RegistryServer
) -> None:
    source = records.source(htpasswd_registry.url, username=htpasswd_registry.username,
                            password="wrong-password")
    records.rule(source, records.endpoint(), "lib")

    page = source_projects(found, source, wait=30)

    assert page.status is ListingStatus.FORBIDDEN
    assert page.message is not None and "may not list its catalog" in page.message
    assert names(page) == [("lib", None, 1, None)]  # its rules' projects all the same


def test_a_changed_source_is_listed_again(
    found: Services, records: Records, htpasswd_registry: RegistryServer
) -> None:
    push_image(htpasswd_registry.url, "lib/app", "v1", layers=(64,),
               session=htpasswd_registry.session())
    source = records.source(htpasswd_registry.url, username=htpasswd_registry.username,
                            password="wrong-password")
    assert source_projects(found, source, wait=30).status is ListingStatus.FORBIDDEN

    fixed = sources.update_source(found, source, source_patch.load(
        {"password": htpasswd_registry.password}, partial=True)).source
    page = source_projects(found, fixed, wait=30)

    assert (page.status, names(page)) == (ListingStatus.OK, [("lib", 1, 0, None)])


def test_an_unreachable_source_is_said_not_raised(found: Services, records: Records) -> None:
    source = records.source("http://127.0.0.1:1")

    page = source_projects(found, source, wait=30)

    assert page.status is ListingStatus.UNREACHABLE and page.items == []
    assert page.message is not None and "could not be listed" in page.message


# Harbor -----------------------------------------------------------------------------------


@pytest.fixture
def harbor_projects(harbor: HarborFake) -> HarborFake:
    """Public "pub", "team" (alice is a developer there) and admin-only "hidden", with
    repositories pub/one, team/app and team/web/ui."""
    harbor.create_project("pub", public=True)
    harbor.create_project("team")
    harbor.create_project("hidden")
    harbor.add_user("alice", "Alice-pa55word")
    harbor.add_member("team", "alice", "developer")
    for repository in ("pub/one", "team/app", "team/web/ui", "hidden/x"):
        with bearer_session(harbor.url, *HARBOR_ADMIN, repository) as session:
            push_image(harbor.url, repository, "v1", layers=(64,), session=session)
    return harbor


@pytest.fixture
def harbor_source(records: Records, harbor_projects: HarborFake) -> Callable[..., Any]:
    def make(kind: str) -> Any:
        return records.source(harbor_projects.url, kind=kind, username="alice",
                              password="Alice-pa55word")
    return make


def test_a_harbor_source_lists_the_projects_its_account_sees(
    found: Services, harbor_source: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(harbor, "PAGE_SIZE", 2)  # Harbor's project list comes in pages
    page = source_projects(found, harbor_source("harbor"), wait=30)

    assert page.status is ListingStatus.OK
    # Harbor's public "library" is there from the start; "hidden" is not alice's.
    assert names(page) == [("library", 0, 0, None), ("pub", 1, 0, None), ("team", 2, 0, None)]


def test_the_same_account_may_not_list_harbors_catalog(
    found: Services, harbor_source: Callable[..., Any]
) -> None:
    page = source_projects(found, harbor_source("distribution"), wait=30)

    assert page.status is ListingStatus.FORBIDDEN and page.items == []
    assert page.message is not None and "(alice) may not list its catalog" in page.message
